/**
 * A protocol-faithful stand-in for the HCP Terraform (Terraform Cloud) API-driven run workflow,
 * written from the public API reference: JSON:API documents (`application/vnd.api+json`), Bearer
 * token, configuration versions with an `upload-url` that takes a PUT of the tar.gz, runs whose
 * status moves pending → planning → planned (or planned_and_finished when nothing changes) →
 * applying → applied, `actions/apply` and `actions/discard`, and `plans/:id/json-output`
 * answering with a temporary redirect to the JSON plan.
 *
 * The fake "plans" by reading `resource "TYPE" "NAME" { … }` blocks from the uploaded .tf files and
 * comparing them with what the workspace last applied: new → create, gone → delete, body changed →
 * update, or delete+create (replace) when the body holds the comment `# fake: forces replacement`.
 */
import * as http from 'http';
import { createGunzip } from 'zlib';
import { Readable } from 'stream';
import { extract } from 'tar-stream';

interface Cv {
  id: string;
  workspaceId: string;
  status: 'pending' | 'uploaded' | 'errored';
  resources: Map<string, { type: string; body: string }> | null;
}
interface Run {
  id: string;
  workspaceId: string;
  cvId: string;
  planId: string;
  status: string;
  message: string;
  changes: Array<{ address: string; type: string; name: string; actions: string[] }>;
  /** Statuses still to walk through, one per GET. */
  queue: string[];
}
interface Workspace {
  id: string;
  name: string;
  organization: string;
  state: Map<string, { type: string; body: string }>;
}

/** A running fake. */
export interface TfcFake {
  readonly baseUrl: string;
  readonly token: string;
  /** Every API request as `METHOD path`. */
  readonly requests: string[];
  /** Creates a workspace and returns its id. */
  addWorkspace(organization: string, name: string): string;
  /** Resource addresses the workspace holds after its applies. */
  stateOf(workspaceId: string): string[];
  runs(): ReadonlyArray<Readonly<Run>>;
  /** Makes the next run end `errored` during its apply. */
  failNextApply(): void;
  stop(): Promise<void>;
}

async function readTf(tarball: Buffer): Promise<Map<string, { type: string; body: string }>> {
  const ex = extract();
  Readable.from([tarball]).pipe(createGunzip()).pipe(ex);
  const resources = new Map<string, { type: string; body: string }>();
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    if (!entry.header.name.endsWith('.tf')) continue;
    const text = Buffer.concat(chunks).toString('utf8');
    for (const m of text.matchAll(/resource\s+"([a-z0-9_]+)"\s+"([A-Za-z0-9_-]+)"\s*\{([\s\S]*?)\n\}/g)) {
      resources.set(`${m[1]}.${m[2]}`, { type: m[1], body: m[3].trim() });
    }
  }
  return resources;
}

/** Starts the fake on a free loopback port. */
export async function startTfcFake(token = 'test-token'): Promise<TfcFake> {
  const workspaces = new Map<string, Workspace>();
  const cvs = new Map<string, Cv>();
  const runs = new Map<string, Run>();
  const requests: string[] = [];
  let seq = 0;
  let failApply = false;
  const id = (p: string): string => `${p}-${(++seq).toString(36).padStart(8, '0')}`;

  const doc = (res: http.ServerResponse, status: number, data: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/vnd.api+json' });
    res.end(JSON.stringify(data));
  };
  const errors = (res: http.ServerResponse, status: number, title: string): void => doc(res, status, { errors: [{ status: String(status), title }] });
  const runDoc = (r: Run) => ({
    data: {
      id: r.id,
      type: 'runs',
      attributes: { status: r.status, message: r.message, 'auto-apply': false, actions: { 'is-confirmable': r.status === 'planned', 'is-discardable': ['planned', 'pending'].includes(r.status) } },
      relationships: {
        workspace: { data: { id: r.workspaceId, type: 'workspaces' } },
        'configuration-version': { data: { id: r.cvId, type: 'configuration-versions' } },
        plan: { data: { id: r.planId, type: 'plans' } },
      },
    },
  });
  const cvDoc = (c: Cv) => ({
    data: { id: c.id, type: 'configuration-versions', attributes: { status: c.status, 'auto-queue-runs': false, 'upload-url': c.status === 'pending' ? `${base}/_archivist/v1/object/${c.id}` : null } },
  });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const p = new URL(req.url ?? '/', 'http://fake').pathname;
        requests.push(`${req.method} ${p}`);
        let m: RegExpExecArray | null;
        // Upload URLs are pre-signed: no token.
        if ((m = /^\/_archivist\/v1\/object\/(cv-[0-9a-z]+)$/.exec(p)) && req.method === 'PUT') {
          const cv = cvs.get(m[1]);
          if (!cv || cv.status !== 'pending') return errors(res, 404, 'not found');
          try {
            cv.resources = await readTf(body);
            cv.status = 'uploaded';
          } catch {
            cv.status = 'errored';
          }
          res.writeHead(200);
          return res.end();
        }
        if ((m = /^\/_archivist\/v1\/plan\/(plan-[0-9a-z]+)$/.exec(p)) && req.method === 'GET') {
          const run = [...runs.values()].find((r) => r.planId === m![1]);
          if (!run) return errors(res, 404, 'not found');
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return res.end(
            JSON.stringify({ format_version: '1.2', terraform_version: '1.9.8', resource_changes: run.changes.map((c) => ({ address: c.address, mode: 'managed', type: c.type, name: c.name, change: { actions: c.actions } })) }),
          );
        }
        if (req.headers.authorization !== `Bearer ${token}`) return errors(res, 401, 'unauthorized');
        if (req.method === 'POST' && !String(req.headers['content-type'] ?? '').startsWith('application/vnd.api+json')) return errors(res, 415, 'unsupported media type');
        const json = body.length ? (JSON.parse(body.toString('utf8')) as { data?: { attributes?: Record<string, unknown>; relationships?: Record<string, { data: { id: string } }> } }) : {};
        if ((m = /^\/api\/v2\/organizations\/([^/]+)\/workspaces\/([^/]+)$/.exec(p)) && req.method === 'GET') {
          const ws = [...workspaces.values()].find((w) => w.organization === decodeURIComponent(m![1]) && w.name === decodeURIComponent(m![2]));
          if (!ws) return errors(res, 404, 'not found');
          return doc(res, 200, { data: { id: ws.id, type: 'workspaces', attributes: { name: ws.name, locked: false } } });
        }
        if ((m = /^\/api\/v2\/workspaces\/(ws-[0-9a-z]+)\/configuration-versions$/.exec(p)) && req.method === 'POST') {
          if (!workspaces.has(m[1])) return errors(res, 404, 'not found');
          const cv: Cv = { id: id('cv'), workspaceId: m[1], status: 'pending', resources: null };
          cvs.set(cv.id, cv);
          return doc(res, 201, cvDoc(cv));
        }
        if ((m = /^\/api\/v2\/configuration-versions\/(cv-[0-9a-z]+)$/.exec(p)) && req.method === 'GET') {
          const cv = cvs.get(m[1]);
          return cv ? doc(res, 200, cvDoc(cv)) : errors(res, 404, 'not found');
        }
        if (p === '/api/v2/runs' && req.method === 'POST') {
          const wsId = json.data?.relationships?.workspace?.data.id ?? '';
          const cvId = json.data?.relationships?.['configuration-version']?.data.id ?? '';
          const ws = workspaces.get(wsId);
          const cv = cvs.get(cvId);
          if (!ws || !cv) return errors(res, 404, 'not found');
          if (cv.status !== 'uploaded' || !cv.resources) return errors(res, 422, 'configuration version is not uploaded');
          const changes: Run['changes'] = [];
          for (const [address, r] of cv.resources) {
            const old = ws.state.get(address);
            const name = address.slice(r.type.length + 1);
            if (!old) changes.push({ address, type: r.type, name, actions: ['create'] });
            else if (old.body !== r.body) changes.push({ address, type: r.type, name, actions: r.body.includes('# fake: forces replacement') ? ['delete', 'create'] : ['update'] });
          }
          for (const [address, r] of ws.state) if (!cv.resources.has(address)) changes.push({ address, type: r.type, name: address.slice(r.type.length + 1), actions: ['delete'] });
          const run: Run = {
            id: id('run'),
            workspaceId: ws.id,
            cvId,
            planId: id('plan'),
            status: 'pending',
            message: String(json.data?.attributes?.message ?? ''),
            changes,
            queue: ['planning', changes.length ? 'planned' : 'planned_and_finished'],
          };
          runs.set(run.id, run);
          return doc(res, 201, runDoc(run));
        }
        if ((m = /^\/api\/v2\/runs\/(run-[0-9a-z]+)$/.exec(p)) && req.method === 'GET') {
          const run = runs.get(m[1]);
          if (!run) return errors(res, 404, 'not found');
          const next = run.queue.shift();
          if (next) {
            run.status = next;
            if (next === 'applied') {
              const ws = workspaces.get(run.workspaceId)!;
              ws.state = new Map(cvs.get(run.cvId)!.resources!);
            }
          }
          return doc(res, 200, runDoc(run));
        }
        if ((m = /^\/api\/v2\/plans\/(plan-[0-9a-z]+)\/json-output$/.exec(p)) && req.method === 'GET') {
          res.writeHead(307, { Location: `${base}/_archivist/v1/plan/${m[1]}` });
          return res.end();
        }
        if ((m = /^\/api\/v2\/runs\/(run-[0-9a-z]+)\/actions\/(apply|discard)$/.exec(p)) && req.method === 'POST') {
          const run = runs.get(m[1]);
          if (!run) return errors(res, 404, 'not found');
          if (run.status !== 'planned') return errors(res, 409, `transition not allowed from ${run.status}`);
          if (m[2] === 'discard') run.status = 'discarded';
          else {
            run.status = 'apply_queued';
            run.queue = failApply ? ['applying', 'errored'] : ['applying', 'applied'];
            failApply = false;
          }
          res.writeHead(202);
          return res.end();
        }
        errors(res, 404, `no route ${req.method} ${p}`);
      })().catch((e: Error) => errors(res, 500, e.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    baseUrl: base,
    token,
    requests,
    addWorkspace(organization, name) {
      const ws: Workspace = { id: id('ws'), name, organization, state: new Map() };
      workspaces.set(ws.id, ws);
      return ws.id;
    },
    stateOf: (wsId) => [...(workspaces.get(wsId)?.state.keys() ?? [])].sort(),
    runs: () => [...runs.values()],
    failNextApply: () => {
      failApply = true;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
