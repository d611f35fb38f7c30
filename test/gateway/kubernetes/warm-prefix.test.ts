import assert from 'node:assert/strict';
import { WarmAttachStdout, withoutWarmPrefix } from '../../../gateway/kubernetes/warm-prefix.js';

async function collect(parts: string[]) {
  let position = 0;
  async function* chunks() {
    for (const part of parts) {
      const chunk = Buffer.from(part, 'latin1');
      yield { chunk, position, stream: 'stdout' as const };
      position += chunk.length;
    }
  }
  const out: { text: string; position: number }[] = [];
  for await (const item of withoutWarmPrefix(chunks()))
    out.push({ text: item.chunk.toString(), position: item.position });
  return out;
}

const report = Buffer.from('{"sandpodLaunch":1}').toString('base64');
const compileFrames = `\x1eSP c a 0\n\n\x1eSP c r ${report.length}\n${report}\n`;

describe('withoutWarmPrefix', () => {
  it("should hand on only the run's output, positions counted from its start, when the frames come split", async () => {
    const log = `${compileFrames}\x1eSP c s 0\n\nhello\nworld\n`;
    const out = await collect([log.slice(0, 7), log.slice(7, log.length - 9), log.slice(log.length - 9)]);
    assert.deepEqual(out.map((item) => item.text).join(''), 'hello\nworld\n');
    assert.equal(out[0]?.position, 0);
    assert.equal(out.at(-1)?.position, 'hello\nworld\n'.length - (out.at(-1)?.text.length ?? 0));
  });

  it('should show nothing when the compile step failed and the run never started', async () => {
    assert.deepEqual(await collect([compileFrames]), []);
  });

  it('should pass on output that looks like a frame once the run started', async () => {
    const fake = '\x1eSP c s 0\n\n';
    const out = await collect([`\x1eSP c a 0\n\n\x1eSP c s 0\n\n${fake}`]);
    assert.equal(out.map((item) => item.text).join(''), fake);
  });

  it("should drop the launcher's last report at the end and keep a program's lone separator", async () => {
    const end = `\x1eSP n0nce r ${report.length}\n${report}\n`;
    const out = await collect([`\x1eSP c a 0\n\n\x1eSP c s 0\n\na\x1eb\n`, 'more\n', end.slice(0, 5), end.slice(5)]);
    assert.equal(out.map((item) => item.text).join(''), 'a\x1eb\nmore\n');
    const positions = out.map((item) => item.position);
    assert.deepEqual(positions, [0, 1], 'the held tail goes on where the text before it stopped');
  });

  it('should hand on a tail that only looks like the start of a frame once the log ends', async () => {
    const out = await collect(['\x1eSP c a 0\n\n\x1eSP c s 0\n\nx\x1eSP not a frame']);
    assert.equal(out.map((item) => item.text).join(''), 'x\x1eSP not a frame');
  });
});

describe('WarmAttachStdout', () => {
  const end = `\x1eSP n0nce r ${report.length}\n${report}\n`;

  function through(parts: string[]): { text: string; sawRunStart: boolean } {
    const stdout = new WarmAttachStdout();
    const out = parts.map((part) => stdout.push(Buffer.from(part, 'latin1')).toString('latin1'));
    out.push(stdout.end().toString('latin1'));
    return { text: out.join(''), sawRunStart: stdout.sawRunStart };
  }

  it("should hand on the run's output alone when the attach joined in the middle of a compile frame", () => {
    const stream = `${compileFrames.slice(20)}\x1eSP c s 0\n\nwho? ann\n${end}`;
    const cut = [stream.slice(0, 9), stream.slice(9, stream.length - 30), stream.slice(stream.length - 30)];
    assert.deepEqual(through(cut), { text: 'who? ann\n', sawRunStart: true });
  });

  it('should hand on nothing and say so when the attach joined after the run started', () => {
    assert.deepEqual(through(['who? ', `ann\n${end}`]), { text: '', sawRunStart: false });
  });

  it("should keep a program's own frame-like output after the run's start", () => {
    const fake = '\x1eSP c s 0\n\n';
    assert.deepEqual(through([`\x1eSP c s 0\n\n${fake}x`]), { text: `${fake}x`, sawRunStart: true });
  });
});
