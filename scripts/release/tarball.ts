import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { CommandError, describeCommand } from './run-command.js';

export interface TarballOptions {
  /** Its contents become the archive's top level (no enclosing folder: the deploy unpacks into a folder it names). */
  dir: string;
  out: string;
  /** Every member's modification time, seconds since the epoch (SOURCE_DATE_EPOCH). */
  mtime: number;
}

/**
 * Writes a .tar.gz whose bytes depend only on the files' content, names and executable bits: sorted
 * members, fixed owner, fixed time, no atime/ctime, and a gzip header without name or time (zlib's).
 * Needs GNU tar (for --sort=name).
 */
export async function writeTarball(options: TarballOptions): Promise<void> {
  const args = [
    '--create', '--format=posix', '--sort=name', `--mtime=@${options.mtime}`,
    '--owner=0', '--group=0', '--numeric-owner', '--mode=u+rwX,go+rX,go-w',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--file=-', '--directory', options.dir, '--',
    // --sort=name orders what is inside folders; the top-level names are sorted here.
    ...fs.readdirSync(options.dir).sort(),
  ];
  const tar = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', (code) => resolve(code));
  });
  const partial = `${options.out}.partial`;
  try {
    await pipeline(tar.stdout, zlib.createGzip({ level: 9 }), fs.createWriteStream(partial));
    const code = await exited;
    if (code !== 0) throw new CommandError(describeCommand('tar', args), code, null, stderr, `exited with code ${code}`);
    fs.renameSync(partial, options.out);
  } catch (error) {
    fs.rmSync(partial, { force: true });
    tar.kill('SIGKILL');
    throw error;
  }
}
