// The judge's API key through `exprl judge` end to end (gpu-node project: spawns `node
// bin/exprl.js` after `npm run build:cli`; no GPU is used). A loopback OpenAI-compatible server
// checks where the key arrives and echoes it back in every spelling; the key must then be absent
// from stdout, stderr and every file, raw, percent-encoded, JSON-escaped and in base64 (Basic auth).
import { testPlatform } from '#test-gpu';
// Node modules are imported inside the tests: this file is also collected by the browser project, which skips it.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useExprl, type Run } from '../support/exprl-cli';

const platform: string = testPlatform;
const KEY = 'sk-test_K3y/+=é%2Fq9';
const VAR = 'EXPRL_TEST_JUDGE_KEY';
// Base64 of the UTF-8 bytes without Buffer: the browser project collects (and skips) this file too.
const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
const spellings = [KEY, encodeURIComponent(KEY), JSON.stringify(KEY).slice(1, -1), b64(KEY), b64(`me:${KEY}`), b64(`me:${KEY}`).slice(4, 20)];
const echo = `${KEY} ${encodeURIComponent(KEY)} ${JSON.stringify(KEY)} Basic ${b64(`me:${KEY}`)} https://me:${encodeURIComponent(KEY)}@x.test/`;

function expectNoKey(where: string, text: string): void {
  for (const s of spellings) expect(text.includes(s), `${where} holds the key as ${s}`).toBe(false);
}

describe.skipIf(platform !== 'node')('exprl judge and its API key', () => {
  const cli = useExprl('exprl-cli-judge-key');
  let server: Server;
  let base = '';
  let mode: 'echo-200' | 'echo-401' = 'echo-200';
  const seen: { url: string; auth: string | undefined; body: string }[] = [];

  beforeAll(async () => {
    const { createServer } = await import('node:http');
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', auth: req.headers.authorization, body });
        if (mode === 'echo-401') {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `bad key ${echo}` }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ choices: [{ message: { content: `You sent ${echo}.\nScore: 4` } }] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const judge = async (config: Record<string, unknown>, env: Record<string, string>, ...extra: string[]): Promise<Run> => {
    const file = `${cli.root()}/config.json`;
    const response = `${cli.root()}/response.txt`;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, JSON.stringify(config));
    await writeFile(response, '2 + 3 = 5\nAnswer: 5');
    return cli.runWith({ env, ms: 60_000 }, 'judge', '--config', file, '--question', 'What is 2 + 3?', '--reference', '2 + 3 = 5\nAnswer: 5', '--response', response, ...extra);
  };
  const openai = (over: Record<string, unknown> = {}) => ({ judge: { kind: 'openai', endpoint: `${base}/v1`, model: 'm', retries: 0, timeoutMs: 5000, ...over } });

  it('sends the key only in the Authorization header, says where it goes, and shows it nowhere', async () => {
    mode = 'echo-200';
    seen.length = 0;
    const ok = await judge(openai(), { [VAR]: KEY }, '--judge-api-key-env', VAR);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, score: 4 });
    expect(ok.stderr).toContain(`the API key in $${VAR} goes to ${base} only, in the Authorization header`);
    expect(seen).toHaveLength(1);
    expect(seen[0].auth).toBe(`Bearer ${KEY}`);
    expectNoKey('the request line', seen[0].url);
    expectNoKey('the request body', seen[0].body);
    expectNoKey('stdout', ok.stdout);
    expectNoKey('stderr', ok.stderr);
    expect(ok.stdout).toContain('[redacted]');

    mode = 'echo-401';
    const refused = await judge(openai({ apiKeyEnv: VAR }), { [VAR]: KEY });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toContain('HTTP 401');
    expectNoKey('stdout (401)', refused.stdout);
    expectNoKey('stderr (401)', refused.stderr);
  }, 120_000);

  it('refuses, exit 2 and without echoing it, a key put in the config or the URL, and an unset variable', async () => {
    seen.length = 0;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ judge: { ...openai().judge, apiKey: KEY } }, /judge\.apiKey = "\(not shown\)".*judge\.apiKeyEnv/],
      [openai({ apiKeyEnv: 'sk_live_abc' }), /not shown.*not set/],
      [openai({ endpoint: `http://me:${encodeURIComponent(KEY)}@127.0.0.1:9/v1` }), /holds user information/],
      [openai({ endpoint: `${base}/v1?api_key=${encodeURIComponent(KEY)}` }), /holds the query parameter "api_key"/],
      [openai({ apiKeyEnv: 'EXPRL_TEST_UNSET_VARIABLE' }), /EXPRL_TEST_UNSET_VARIABLE, which is not set/],
    ];
    for (const [config, message] of cases) {
      const r = await judge(config, {});
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expectNoKey('stderr', r.stderr);
      expectNoKey('stdout', r.stdout);
    }
    expect(seen).toHaveLength(0);
    const { readdir, readFile } = await import('node:fs/promises');
    for (const f of await readdir(cli.root())) if (f.endsWith('.txt')) expectNoKey(f, await readFile(`${cli.root()}/${f}`, 'utf8'));
  }, 120_000);

  // This server pays 4 whatever it is sent: the junk probes find it out before the first step.
  it('judge.requireProbes: a judge that pays junk probes refuses the run before Stage 0 (exit 2), after the report every run prints', async () => {
    mode = 'echo-200';
    const { existsSync } = await import('node:fs');
    const { readFile } = await import('node:fs/promises');
    const strict = `${cli.root()}/strict`;
    const refused = await cli.runWith(
      { ms: 240_000 },
      ...['train', '--preset', 'tiny', '--steps', '1', '--stage2-steps', '0', '--judge', 'openai', '--judge-endpoint', `${base}/v1`, '--judge-model', 'm', '--judge-require-probes', 'true', '--out', strict],
    );
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/judge\.requireProbes: .* did not pass the judge-hacking probes: \d+ junk probe\(s\) earned more than the minimum \(outcome:[\w-]+/);
    expect(refused.stderr).toContain(`${strict}/judge-probes.json`);
    const probes = JSON.parse(await readFile(`${strict}/judge-probes.json`, 'utf8')) as { exploitable: boolean }[];
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.every((p) => p.exploitable)).toBe(true);
    expect(existsSync(`${strict}/metrics.jsonl`) ? (await readFile(`${strict}/metrics.jsonl`, 'utf8')).trim() : '').toBe('');
    // The report every run prints (the warning a run without judge.requireProbes gets).
    expect(refused.stderr).toMatch(/FAIL +outcome/);
    expect(refused.stderr).toMatch(/\d+ probe\(s\) earned more than the minimum/);
  }, 300_000);
});
