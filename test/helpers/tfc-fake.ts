/**
 * A protocol-faithful stand-in for the HCP Terraform (Terraform Cloud) API-driven run workflow,
 * written from the public API reference: JSON:API documents (`application/vnd.api+json`), Bearer
 * token, configuration versions with an `upload-url` that takes a PUT of the tar.gz, runs whose
 * status moves pending → planning → planned (or planned_and_finished when nothing changes) →
 * applying → applied, `actions/apply` and `actions/discard`, and `plans/:id/json-output`
 * answering with a temporary redirect to the JSON plan.
 *
 * Cost estimation (enableCostEstimation) and Sentinel policy checks (addPolicySet) follow the runs,
 * policy checks and cost estimates API references: after `planned` a run walks through
 * cost_estimating → cost_estimated, then policy_checking → policy_checked (every policy passed, or
 * only advisory ones failed), policy_override (a soft-mandatory policy failed; `POST
 * /policy-checks/:id/actions/override` moves it to policy_checked) or errored (a hard-mandatory
 * policy failed). `actions.is-confirmable` is true only in the state a run waits in for its apply
 * (planned, cost_estimated or policy_checked, with nothing left to run), and `actions/apply`
 * answers 409 otherwise. The run carries `relationships.cost-estimate` and `policy-checks`;
 * `GET /runs/:id/policy-checks`, `GET /policy-checks/:id` and `GET /cost-estimates/:id` answer with
 * the documents (policy check `status` passed / soft_failed / hard_failed / overridden, `result`
 * with the counts and the `sentinel` hash naming each policy as `<set>/<policy>`).
 *
 * By default a run moves one status per `GET /runs/:id` (each poll sees the next status); with
 * `{ progress: 'at-once' }` a GET walks it through every status up to where it waits (confirmable, an
 * override, or the end), as a run that planned between two polls, so a poller needs no second look.
 *
 * Each apply that ends `applied`, or errors after applying part of the plan (failNextApply), writes
 * a state version of the workspace (`serial` counting up from 1, the run that wrote it, the resources
 * with their bodies), which `GET /workspaces/:id/current-state-version` answers with (404 before the
 * first one), as the state versions API does.
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
  policyCheck: PolicyCheck | null;
  costEstimate: CostEstimate | null;
  /** Comments given with actions/apply and actions/discard. */
  comments: string[];
}

/** Enforcement levels of Sentinel policies. */
export type Enforcement = 'advisory' | 'soft-mandatory' | 'hard-mandatory';

/** A Sentinel policy of the fake: fails when `fails` says so about the configuration being planned. */
export interface FakePolicy {
  readonly name: string;
  readonly enforcement: Enforcement;
  readonly fails: (resources: ReadonlyArray<{ address: string; type: string; body: string }>) => boolean;
}

interface PolicyCheck {
  id: string;
  runId: string;
  status: 'pending' | 'passed' | 'soft_failed' | 'hard_failed' | 'overridden';
  /** Per policy set, each policy's result. */
  sets: Array<{ name: string; policies: Array<{ name: string; enforcement: Enforcement; passed: boolean }> }>;
}
interface CostEstimate {
  id: string;
  status: 'pending' | 'finished';
  prior: number;
  proposed: number;
  resources: number;
  matched: number;
}
interface Workspace {
  id: string;
  name: string;
  organization: string;
  state: Map<string, { type: string; body: string }>;
  stateVersions: StateVersion[];
}

/** A state version of a workspace: what one applied run left in its state. */
export interface StateVersion {
  readonly id: string;
  readonly serial: number;
  /** The run whose apply wrote it. */
  readonly runId: string;
  /** Resource address → its body as the applied configuration had it. */
  readonly resources: Readonly<Record<string, string>>;
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
  /** The workspace's current state version (its last applied run's), null before the first apply. */
  currentStateVersion(workspaceId: string): StateVersion | null;
  runs(): ReadonlyArray<Readonly<Run>>;
  /** The policy check of a run, as the fake keeps it. */
  policyCheckOf(runId: string): Readonly<PolicyCheck> | null;
  /**
   * Makes the next run end `errored` during its apply. With `applyFirst`, Terraform had applied that
   * many of the plan's changes (in plan order) before the error, and, as Terraform does, saved the
   * partial state: a state version written by the errored run. @default applyFirst 0 (no state written)
   */
  failNextApply(options?: { readonly applyFirst?: number }): void;
  /** Adds a policy set that applies to the given workspaces (every workspace when omitted). */
  addPolicySet(set: { name: string; workspaceIds?: readonly string[]; policies: readonly FakePolicy[] }): void;
  /** Turns the organization's cost estimation on, with each resource type's monthly price in USD (types without one are unmatched). */
  enableCostEstimation(prices: Readonly<Record<string, number>>): void;
  /** Whether the token may override policy checks (`permissions.can-override`). @default true */
  setCanOverride(can: boolean): void;
  /** Policy check ids that were overridden, in order. */
  readonly overrides: string[];
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

/** Options of {@link startTfcFake}. */
export interface TfcFakeOptions {
  /** How far one GET of a run moves it: one status, or every status up to where it waits. @default 'per-poll' */
  readonly progress?: 'per-poll' | 'at-once';
}

/** Starts the fake on a free loopback port. */
export async function startTfcFake(token = 'test-token', { progress = 'per-poll' }: TfcFakeOptions = {}): Promise<TfcFake> {
  const workspaces = new Map<string, Workspace>();
  const cvs = new Map<string, Cv>();
  const runs = new Map<string, Run>();
  const requests: string[] = [];
  const policySets: Array<{ name: string; workspaceIds?: readonly string[]; policies: readonly FakePolicy[] }> = [];
  const policyChecks = new Map<string, PolicyCheck>();
  const costEstimates = new Map<string, CostEstimate>();
  const overrides: string[] = [];
  let prices: Readonly<Record<string, number>> | null = null;
  let canOverride = true;
  let seq = 0;
  let failApply: { applyFirst: number } | null = null;
  const partialApplies = new Map<string, number>();
  const id = (p: string): string => `${p}-${(++seq).toString(36).padStart(8, '0')}`;

  const doc = (res: http.ServerResponse, status: number, data: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/vnd.api+json' });
    res.end(JSON.stringify(data));
  };
  const errors = (res: http.ServerResponse, status: number, title: string): void => doc(res, status, { errors: [{ status: String(status), title }] });
  const WAITING_FOR_APPLY = ['planned', 'cost_estimated', 'policy_checked'];
  const DISCARDABLE = ['pending', 'planned', 'cost_estimated', 'policy_checked', 'policy_override'];
  const confirmable = (r: Run) => r.queue.length === 0 && WAITING_FOR_APPLY.includes(r.status);
  const runDoc = (r: Run) => ({
    data: {
      id: r.id,
      type: 'runs',
      attributes: {
        status: r.status,
        message: r.message,
        'auto-apply': false,
        'has-changes': r.changes.length > 0,
        actions: { 'is-confirmable': confirmable(r), 'is-discardable': r.queue.length === 0 && DISCARDABLE.includes(r.status), 'is-cancelable': r.queue.length > 0 },
      },
      relationships: {
        workspace: { data: { id: r.workspaceId, type: 'workspaces' } },
        'configuration-version': { data: { id: r.cvId, type: 'configuration-versions' } },
        plan: { data: { id: r.planId, type: 'plans' } },
        'cost-estimate': { data: r.costEstimate ? { id: r.costEstimate.id, type: 'cost-estimates' } : null },
        'policy-checks': { data: r.policyCheck ? [{ id: r.policyCheck.id, type: 'policy-checks' }] : [] },
      },
    },
  });
  const policyCheckData = (pc: PolicyCheck) => {
    const all = pc.sets.flatMap((set) => set.policies);
    const failed = (level: Enforcement) => all.filter((p) => !p.passed && p.enforcement === level).length;
    return {
      id: pc.id,
      type: 'policy-checks',
      attributes: {
        result:
          pc.status === 'pending'
            ? null
            : {
                result: failed('hard-mandatory') + failed('soft-mandatory') === 0,
                passed: all.filter((p) => p.passed).length,
                'total-failed': all.filter((p) => !p.passed).length,
                'hard-failed': failed('hard-mandatory'),
                'soft-failed': failed('soft-mandatory'),
                'advisory-failed': failed('advisory'),
                'duration-ms': 0,
                sentinel: {
                  schema_version: 1,
                  data: Object.fromEntries(
                    pc.sets.map((set) => [
                      set.name,
                      {
                        can_override: !set.policies.some((p) => !p.passed && p.enforcement === 'hard-mandatory'),
                        error: null,
                        result: set.policies.every((p) => p.passed || p.enforcement === 'advisory'),
                        policies: set.policies.map((p) => ({ allowed_failure: p.enforcement === 'advisory', error: null, policy: `${set.name}/${p.name}`, result: p.passed, trace: {} })),
                      },
                    ]),
                  ),
                },
              },
        scope: 'organization',
        status: pc.status,
        'status-timestamps': {},
        actions: { 'is-overridable': pc.status === 'soft_failed' },
        permissions: { 'can-override': canOverride },
      },
      relationships: { run: { data: { id: pc.runId, type: 'runs' } } },
      links: { output: `/api/v2/policy-checks/${pc.id}/output` },
    };
  };
  const money = (n: number) => n.toFixed(2);
  const costDoc = (ce: CostEstimate) => ({
    data: {
      id: ce.id,
      type: 'cost-estimates',
      attributes: {
        status: ce.status,
        'error-message': null,
        'prior-monthly-cost': ce.status === 'finished' ? money(ce.prior) : '0.0',
        'proposed-monthly-cost': ce.status === 'finished' ? money(ce.proposed) : '0.0',
        'delta-monthly-cost': ce.status === 'finished' ? money(ce.proposed - ce.prior) : '0.0',
        'resources-count': ce.resources,
        'matched-resources-count': ce.matched,
        'unmatched-resources-count': ce.resources - ce.matched,
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
        if ((m = /^\/api\/v2\/workspaces\/(ws-[0-9a-z]+)\/current-state-version$/.exec(p)) && req.method === 'GET') {
          const sv = workspaces.get(m[1])?.stateVersions.at(-1);
          if (!sv) return errors(res, 404, 'not found');
          return doc(res, 200, { data: { id: sv.id, type: 'state-versions', attributes: { serial: sv.serial, status: 'finalized' }, relationships: { run: { data: { id: sv.runId, type: 'runs' } } } } });
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
          const runId = id('run');
          const queue = ['planning', changes.length ? 'planned' : 'planned_and_finished'];
          let costEstimate: CostEstimate | null = null;
          let policyCheck: PolicyCheck | null = null;
          if (changes.length > 0 && prices) {
            const price = (type: string) => prices![type] ?? 0;
            const proposed = [...cv.resources.values()];
            costEstimate = {
              id: id('ce'),
              status: 'pending',
              prior: [...ws.state.values()].reduce((n, r) => n + price(r.type), 0),
              proposed: proposed.reduce((n, r) => n + price(r.type), 0),
              resources: proposed.length,
              matched: proposed.filter((r) => prices![r.type] !== undefined).length,
            };
            costEstimates.set(costEstimate.id, costEstimate);
            queue.push('cost_estimating', 'cost_estimated');
          }
          const sets = policySets.filter((set) => !set.workspaceIds || set.workspaceIds.includes(ws.id));
          if (changes.length > 0 && sets.length > 0) {
            const resources = [...cv.resources].map(([address, r]) => ({ address, type: r.type, body: r.body }));
            const evaluated = sets.map((set) => ({ name: set.name, policies: set.policies.map((pol) => ({ name: pol.name, enforcement: pol.enforcement, passed: !pol.fails(resources) })) }));
            policyCheck = { id: id('polchk'), runId, status: 'pending', sets: evaluated };
            policyChecks.set(policyCheck.id, policyCheck);
            queue.push('policy_checking', 'policy_checked');
          }
          const run: Run = {
            id: runId,
            workspaceId: ws.id,
            cvId,
            planId: id('plan'),
            status: 'pending',
            message: String(json.data?.attributes?.message ?? ''),
            changes,
            queue,
            policyCheck,
            costEstimate,
            comments: [],
          };
          runs.set(run.id, run);
          return doc(res, 201, runDoc(run));
        }
        if ((m = /^\/api\/v2\/runs\/(run-[0-9a-z]+)$/.exec(p)) && req.method === 'GET') {
          const run = runs.get(m[1]);
          if (!run) return errors(res, 404, 'not found');
          // per-poll: one status per GET, as a slow run is seen; at-once: every status the run walks before it waits
          for (let next = run.queue.shift(); next; next = progress === 'at-once' ? run.queue.shift() : undefined) {
            run.status = next;
            if (next === 'applied') {
              const ws = workspaces.get(run.workspaceId)!;
              ws.state = new Map(cvs.get(run.cvId)!.resources!);
              ws.stateVersions.push({ id: id('sv'), serial: ws.stateVersions.length + 1, runId: run.id, resources: Object.fromEntries([...ws.state].map(([a, r]) => [a, r.body])) });
            }
            const partial = next === 'errored' ? partialApplies.get(run.id) : undefined;
            if (partial !== undefined) {
              const ws = workspaces.get(run.workspaceId)!;
              const planned = cvs.get(run.cvId)!.resources!;
              for (const c of run.changes.slice(0, partial)) {
                if (c.actions.includes('create') || c.actions.includes('update')) ws.state.set(c.address, planned.get(c.address)!);
                else ws.state.delete(c.address);
              }
              ws.stateVersions.push({ id: id('sv'), serial: ws.stateVersions.length + 1, runId: run.id, resources: Object.fromEntries([...ws.state].map(([a, r]) => [a, r.body])) });
            }
            if (next === 'cost_estimated' && run.costEstimate) run.costEstimate.status = 'finished';
            if (next === 'policy_checked' && run.policyCheck) {
              // The check's outcome decides where the run goes: hard-mandatory failure ends it, soft-mandatory waits for an override.
              const all = run.policyCheck.sets.flatMap((set) => set.policies);
              const failed = (level: Enforcement) => all.some((pol) => !pol.passed && pol.enforcement === level);
              run.policyCheck.status = failed('hard-mandatory') ? 'hard_failed' : failed('soft-mandatory') ? 'soft_failed' : 'passed';
              if (run.policyCheck.status === 'hard_failed') run.status = 'errored';
              if (run.policyCheck.status === 'soft_failed') run.status = 'policy_override';
            }
          }
          return doc(res, 200, runDoc(run));
        }
        if ((m = /^\/api\/v2\/runs\/(run-[0-9a-z]+)\/policy-checks$/.exec(p)) && req.method === 'GET') {
          const run = runs.get(m[1]);
          if (!run) return errors(res, 404, 'not found');
          return doc(res, 200, { data: run.policyCheck ? [policyCheckData(run.policyCheck)] : [], links: {}, meta: { pagination: { 'current-page': 1, 'total-pages': 1, 'total-count': run.policyCheck ? 1 : 0 } } });
        }
        if ((m = /^\/api\/v2\/policy-checks\/(polchk-[0-9a-z]+)$/.exec(p)) && req.method === 'GET') {
          const pc = policyChecks.get(m[1]);
          return pc ? doc(res, 200, { data: policyCheckData(pc) }) : errors(res, 404, 'not found');
        }
        if ((m = /^\/api\/v2\/policy-checks\/(polchk-[0-9a-z]+)\/actions\/override$/.exec(p)) && req.method === 'POST') {
          const pc = policyChecks.get(m[1]);
          if (!pc) return errors(res, 404, 'not found');
          if (!canOverride) return errors(res, 403, 'forbidden');
          if (pc.status !== 'soft_failed') return errors(res, 409, `policy check is ${pc.status}; only a soft failed policy check can be overridden`);
          pc.status = 'overridden';
          overrides.push(pc.id);
          const run = runs.get(pc.runId)!;
          if (run.status === 'policy_override') run.status = 'policy_checked';
          return doc(res, 200, { data: policyCheckData(pc) });
        }
        if ((m = /^\/api\/v2\/cost-estimates\/(ce-[0-9a-z]+)$/.exec(p)) && req.method === 'GET') {
          const ce = costEstimates.get(m[1]);
          return ce ? doc(res, 200, costDoc(ce)) : errors(res, 404, 'not found');
        }
        if ((m = /^\/api\/v2\/plans\/(plan-[0-9a-z]+)\/json-output$/.exec(p)) && req.method === 'GET') {
          res.writeHead(307, { Location: `${base}/_archivist/v1/plan/${m[1]}` });
          return res.end();
        }
        if ((m = /^\/api\/v2\/runs\/(run-[0-9a-z]+)\/actions\/(apply|discard)$/.exec(p)) && req.method === 'POST') {
          const run = runs.get(m[1]);
          if (!run) return errors(res, 404, 'not found');
          const allowed = m[2] === 'apply' ? confirmable(run) : run.queue.length === 0 && DISCARDABLE.includes(run.status);
          if (!allowed) return errors(res, 409, `transition not allowed from ${run.status}`);
          const comment = (json as { comment?: unknown }).comment;
          if (typeof comment === 'string') run.comments.push(comment);
          if (m[2] === 'discard') run.status = 'discarded';
          else {
            run.status = 'apply_queued';
            run.queue = failApply ? ['applying', 'errored'] : ['applying', 'applied'];
            if (failApply && failApply.applyFirst > 0) partialApplies.set(run.id, failApply.applyFirst);
            failApply = null;
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
      const ws: Workspace = { id: id('ws'), name, organization, state: new Map(), stateVersions: [] };
      workspaces.set(ws.id, ws);
      return ws.id;
    },
    stateOf: (wsId) => [...(workspaces.get(wsId)?.state.keys() ?? [])].sort(),
    currentStateVersion: (wsId) => workspaces.get(wsId)?.stateVersions.at(-1) ?? null,
    runs: () => [...runs.values()],
    policyCheckOf: (runId) => runs.get(runId)?.policyCheck ?? null,
    failNextApply: (options = {}) => {
      failApply = { applyFirst: options.applyFirst ?? 0 };
    },
    addPolicySet: (set) => {
      policySets.push(set);
    },
    enableCostEstimation: (p) => {
      prices = p;
    },
    setCanOverride: (can) => {
      canOverride = can;
    },
    overrides,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
