import fs from 'node:fs/promises';
import * as sea from 'node:sea';

/** The files the page is made of, by the path it requests them under. */
export const PAGE_ASSETS = {
  '/': { asset: 'index.html', type: 'text/html; charset=utf-8' },
  '/style.css': { asset: 'style.css', type: 'text/css; charset=utf-8' },
  '/app.js': { asset: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/settings': { asset: 'settings.html', type: 'text/html; charset=utf-8' },
  '/settings.js': { asset: 'settings.js', type: 'text/javascript; charset=utf-8' },
} as const satisfies Record<string, { asset: string; type: string }>;

/**
 * The modules app.js imports. Outside the exe the browser loads tsc's output of each by name; inside it,
 * app.js is one bundle with them (scripts/release/win-x64.ts), so they are never asked for there.
 */
const PAGE_MODULES = ['contract', 'frame-message', 'frame-pipeline', 'jpeg-decoder', 'motion', 'overlay', 'stale-look', 'tile-health'] as const;

type PageModuleAsset = `${(typeof PAGE_MODULES)[number]}.js`;
export type PageAssetName = (typeof PAGE_ASSETS)[keyof typeof PAGE_ASSETS]['asset'] | PageModuleAsset;

/** The page's hand-written files are read from the source folder, its compiled scripts from beside this module. */
const COMPILED = new Set<string>(['app.js', 'settings.js', ...PAGE_MODULES.map((name) => `${name}.js`)]);

/** The page file a request path names, if any: nothing else is served from disk. */
export function pageAsset(pathname: string): { asset: PageAssetName; type: string } | undefined {
  if (Object.hasOwn(PAGE_ASSETS, pathname)) return PAGE_ASSETS[pathname as keyof typeof PAGE_ASSETS];
  const name = /^\/([a-z][a-z-]*)\.js$/.exec(pathname)?.[1];
  if (name === undefined || runningAsSea() || !(PAGE_MODULES as readonly string[]).includes(name)) return undefined;
  return { asset: `${name}.js` as PageModuleAsset, type: 'text/javascript; charset=utf-8' };
}

/**
 * True inside picam-viewer.exe (a Node single executable application), where the page's files are the
 * executable's SEA assets under the names in PAGE_ASSETS. `isSea` came in Node 20.12; before it there was no SEA here.
 */
export function runningAsSea(): boolean {
  return typeof sea.isSea === 'function' && sea.isSea();
}

/** One page file's bytes: from the executable's assets, else from disk (dist/ and the page's source folder). */
export async function readPageAsset(name: PageAssetName): Promise<Buffer> {
  if (runningAsSea()) return Buffer.from(sea.getAsset(name));
  // Resolved only here: in the single-script bundle there is no import.meta.url, and no file on disk either.
  const file = COMPILED.has(name) ? new URL(`./page/${name}`, import.meta.url) : new URL(`../../viewer/page/${name}`, import.meta.url);
  return fs.readFile(file);
}
