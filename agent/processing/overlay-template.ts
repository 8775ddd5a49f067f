// What --overlay and --overlay-position accept, apart from the drawing (overlay.ts): the options table reads
// these, and it must load without sharp, so that a configuration error is reported before anything heavy loads.

export const OVERLAY_POSITIONS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;
export type OverlayPosition = (typeof OVERLAY_POSITIONS)[number];

/** Text with only the known placeholders, at most 200 characters. */
export const OVERLAY_TEMPLATE_PATTERN = /^(?=[^]{0,200}$)(?:[^{}]|\{(?:id|date|time)\})*$/;
export const OVERLAY_TEMPLATE_HINT = 'text of at most 200 characters whose only placeholders are {id}, {date} and {time}, e.g. "{id} {date} {time}"';
