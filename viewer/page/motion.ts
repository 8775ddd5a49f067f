/// <reference lib="dom" />
// Motion on the page: a camera in motion gets a red frame and a "motion" badge; under its picture, its recent
// events with a small picture each (the viewer keeps them, motion-events.ts). Built with DOM calls only:
// every text from a camera goes in as text, never as markup.
import type { MotionSummary } from '../motion-events.js';

const drawn = new WeakMap<HTMLElement, string>();

function timeOf(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
}

function durationOf(start: string, end: string | undefined): string {
  if (!end) return 'going on';
  const s = Math.max(0, (Date.parse(end) - Date.parse(start)) / 1000);
  return `${s.toFixed(s < 10 ? 1 : 0)} s`;
}

/** Shows a camera's motion state and recent events in its tile; does nothing when the camera reports none. */
export function renderMotion(root: HTMLElement, cameraKey: string, motion: MotionSummary | undefined): void {
  const on = motion?.state === 'ON';
  root.classList.toggle('in-motion', on);
  root.dataset.motion = motion?.state ?? '';
  let badge = root.querySelector<HTMLElement>('.badge.motion');
  if (!badge && motion) {
    badge = document.createElement('span');
    badge.className = 'badge motion';
    badge.textContent = 'motion';
    root.querySelector('.title .name')?.after(badge);
  }
  if (badge) badge.hidden = !on;
  if (!motion) return;
  const signature = JSON.stringify(motion.events);
  let list = root.querySelector<HTMLOListElement>('ol.events');
  if (list && drawn.get(list) === signature) return;
  if (!list) {
    list = document.createElement('ol');
    list.className = 'events';
    list.title = 'Recent motion events, newest first';
    root.querySelector('.picture')?.after(list);
  }
  drawn.set(list, signature);
  list.replaceChildren(...motion.events.map((event) => {
    const item = document.createElement('li');
    item.dataset.event = String(event.id);
    if (event.thumbnail) {
      const img = document.createElement('img');
      img.src = `/api/cameras/${encodeURIComponent(cameraKey)}/event-${event.id}.jpg`;
      img.alt = `motion at ${timeOf(event.start)}`;
      img.loading = 'lazy';
      item.append(img);
    }
    const text = document.createElement('span');
    text.textContent = `${timeOf(event.start)} · ${durationOf(event.start, event.end)} · ${event.peak.toFixed(1)} %`;
    text.title = `frame ${event.seq}; changed area up to ${event.peak} % of the picture`;
    item.append(text);
    return item;
  }));
}
