export * from './crc32.js';
export * from './header.js';
export * from './chunker.js';
export * from './reassembler.js';
export * from './sequence.js';
export * from './topics.js';
export * from './messages.js';
export * from './packet-size.js';
