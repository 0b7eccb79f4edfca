import { z } from 'zod';

/** A Terraform Cloud API call failed; the message names the call and the API's answer. */
export class TerraformCloudError extends Error {
  /** The HTTP status the API answered with, when it answered. */
  readonly status?: number;

  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = 'TerraformCloudError';
    this.status = options?.status;
  }
}

/** Props of {@link TerraformCloudClient}. */
export interface TerraformCloudClientProps {
  /** API token (team or user token with queue-plans and apply permission on the workspace). */
  readonly token: string;
  /** @default https://app.terraform.io */
  readonly baseUrl?: string;
  /** @default global fetch */
  readonly fetch?: typeof fetch;
}

/** Run statuses after which a plan exists (HCP Terraform runs API). */
export const PLANNED_STATUSES = ['planned', 'cost_estimated', 'policy_checked', 'policy_override', 'post_plan_completed', 'planned_and_saved'] as const;
/** Run statuses that end a run. */
export const FINAL_STATUSES = ['applied', 'planned_and_finished', 'errored', 'discarded', 'canceled', 'force_canceled', 'policy_soft_failed'] as const;

const Doc = <T extends z.ZodType>(data: T) => z.object({ data });
const WorkspaceDoc = Doc(z.object({ id: z.string(), attributes: z.object({ name: z.string(), locked: z.boolean().optional() }).loose() }).loose());
const CvDoc = Doc(z.object({ id: z.string(), attributes: z.object({ status: z.string(), 'upload-url': z.string().nullish() }).loose() }).loose());
const Ref = z.object({ id: z.string() }).loose();
const RunDoc = Doc(
  z
    .object({
      id: z.string(),
      attributes: z.object({ status: z.string(), actions: z.object({ 'is-confirmable': z.boolean().optional() }).loose().optional() }).loose(),
      relationships: z
        .object({
          plan: z.object({ data: Ref.nullish() }).optional(),
          'cost-estimate': z.object({ data: Ref.nullish() }).optional(),
          'policy-checks': z.object({ data: z.array(Ref).nullish() }).optional(),
        })
        .loose()
        .optional(),
    })
    .loose(),
);

/**
 * One Sentinel policy of a policy check, from `result.sentinel` (the API reference warns that this
 * hash is low level and may change, so it is read leniently: dashed or underscored keys).
 */
const SentinelPolicy = z
  .object({ policy: z.string(), result: z.boolean().optional(), allowed_failure: z.boolean().optional(), 'allowed-failure': z.boolean().optional() })
  .loose();
const SentinelSet = z.object({ policies: z.array(SentinelPolicy).optional(), can_override: z.boolean().optional(), 'can-override': z.boolean().optional() }).loose();
const PolicyCheckData = z
  .object({
    id: z.string(),
    attributes: z
      .object({
        status: z.string(),
        scope: z.string().optional(),
        result: z
          .object({
            'hard-failed': z.number().optional(),
            'soft-failed': z.number().optional(),
            'advisory-failed': z.number().optional(),
            passed: z.number().optional(),
            sentinel: z.object({ data: z.record(z.string(), SentinelSet).optional() }).loose().nullish(),
          })
          .loose()
          .nullish(),
        actions: z.object({ 'is-overridable': z.boolean().optional() }).loose().optional(),
        permissions: z.object({ 'can-override': z.boolean().optional() }).loose().optional(),
      })
      .loose(),
  })
  .loose();
const PolicyCheckListDoc = z.object({ data: z.array(PolicyCheckData) });
const PolicyCheckDoc = Doc(PolicyCheckData);
const CostEstimateDoc = Doc(
  z
    .object({
      id: z.string(),
      attributes: z
        .object({
          status: z.string(),
          'prior-monthly-cost': z.string().nullish(),
          'proposed-monthly-cost': z.string().nullish(),
          'delta-monthly-cost': z.string().nullish(),
          'resources-count': z.number().nullish(),
          'matched-resources-count': z.number().nullish(),
          'error-message': z.string().nullish(),
        })
        .loose(),
    })
    .loose(),
);

const StateVersionDoc = Doc(
  z
    .object({
      id: z.string(),
      attributes: z.object({ serial: z.number().int() }).loose(),
      relationships: z.object({ run: z.object({ data: Ref.nullish() }).optional() }).loose().optional(),
    })
    .loose(),
);

/** A workspace's state version (HCP Terraform state versions API). */
export interface StateVersionInfo {
  readonly id: string;
  /** Counts up with every state the workspace saves. */
  readonly serial: number;
  /** The run whose plan or apply saved it; null for a state uploaded outside a run. */
  readonly runId: string | null;
}

/** Policy check statuses (HCP Terraform policy checks API). */
export const POLICY_CHECK_STATUSES = ['pending', 'queued', 'passed', 'soft_failed', 'hard_failed', 'overridden', 'errored', 'canceled', 'unreachable'] as const;

/** One failed (or passed) Sentinel policy of a policy check. */
export interface PolicyResult {
  /** `<policy set>/<policy>` as Sentinel names it. */
  readonly name: string;
  readonly passed: boolean;
  /** True for advisory policies, whose failure never blocks. */
  readonly advisory: boolean;
}

/** A policy check of a run as the deployer needs it. */
export interface PolicyCheckInfo {
  readonly id: string;
  /** passed, soft_failed, hard_failed, overridden, errored, … */
  readonly status: string;
  readonly scope: string | null;
  readonly hardFailed: number;
  readonly softFailed: number;
  readonly advisoryFailed: number;
  /** The policies Sentinel evaluated, when the result carries them. */
  readonly policies: readonly PolicyResult[];
  /** `actions.is-overridable` and `permissions.can-override`: this token may override it now. */
  readonly overridable: boolean;
}

/** A run's cost estimate (HCP Terraform cost estimates API); costs are USD per month, as the API's decimal strings. */
export interface CostEstimateInfo {
  readonly id: string;
  /** pending, queued, finished, errored, canceled, skipped_due_to_targeting */
  readonly status: string;
  readonly priorMonthlyCost: string | null;
  readonly proposedMonthlyCost: string | null;
  readonly deltaMonthlyCost: string | null;
  readonly resourcesCount: number | null;
  readonly matchedResourcesCount: number | null;
  readonly errorMessage: string | null;
}

/** One resource change of a plan's JSON output (`terraform show -json`). */
export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly actions: readonly string[];
}

const PlanJsonSchema = z.object({
  resource_changes: z
    .array(z.object({ address: z.string(), type: z.string(), change: z.object({ actions: z.array(z.string()) }).loose() }).loose())
    .optional(),
});

/** A run as the deployer needs it. */
export interface RunInfo {
  readonly id: string;
  readonly status: string;
  readonly planId: string | null;
  /** `actions.is-confirmable`: the run may be applied now. */
  readonly confirmable: boolean;
  /** Relationship `cost-estimate`; null when the organization does not estimate costs. */
  readonly costEstimateId: string | null;
  /** Relationship `policy-checks` (empty when no policy set applies). */
  readonly policyCheckIds: readonly string[];
}

/**
 * A small client of the HCP Terraform / Terraform Cloud API (JSON:API, Bearer token) for the
 * API-driven run workflow: configuration version → upload → run → plan JSON, cost estimate and
 * policy checks (override) → apply.
 */
export class TerraformCloudClient {
  private readonly base: string;

  constructor(private readonly props: TerraformCloudClientProps) {
    this.base = (props.baseUrl ?? 'https://app.terraform.io').replace(/\/+$/, '');
  }

  private async call<T extends z.ZodType>(method: string, path: string, schema: T | null, body?: unknown): Promise<z.output<T> | null> {
    const url = path.startsWith('http') ? path : `${this.base}/api/v2${path}`;
    let res: Response;
    try {
      res = await (this.props.fetch ?? fetch)(url, {
        method,
        headers: { Authorization: `Bearer ${this.props.token}`, 'Content-Type': 'application/vnd.api+json', Accept: 'application/vnd.api+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw new TerraformCloudError(`${method} ${url} failed: ${(cause as Error).message}; check that the build can reach ${this.base}`, { cause });
    }
    const text = await res.text();
    if (!res.ok) {
      const hint = res.status === 401 ? '; the API token is missing or expired' : res.status === 404 ? '; the organization, workspace or object does not exist or the token may not see it' : '';
      throw new TerraformCloudError(`${method} ${path} answered HTTP ${res.status}: ${text.slice(0, 300)}${hint}`, { status: res.status });
    }
    if (!schema) return null;
    try {
      return schema.parse(JSON.parse(text));
    } catch (cause) {
      throw new TerraformCloudError(`${method} ${path} answered a document this client does not understand: ${text.slice(0, 300)}`, { cause });
    }
  }

  /** GET /organizations/:org/workspaces/:name → workspace id. */
  async workspaceId(organization: string, workspace: string): Promise<string> {
    const doc = await this.call('GET', `/organizations/${encodeURIComponent(organization)}/workspaces/${encodeURIComponent(workspace)}`, WorkspaceDoc);
    return doc!.data.id;
  }

  /** GET /workspaces/:id/current-state-version → the state the workspace holds now; null before its first state. */
  async currentStateVersion(workspaceId: string): Promise<StateVersionInfo | null> {
    try {
      const d = (await this.call('GET', `/workspaces/${workspaceId}/current-state-version`, StateVersionDoc))!.data;
      return { id: d.id, serial: d.attributes.serial, runId: d.relationships?.run?.data?.id ?? null };
    } catch (e) {
      if (e instanceof TerraformCloudError && e.status === 404) return null;
      throw e;
    }
  }

  /** POST /workspaces/:id/configuration-versions (no automatic run) → id and upload URL. */
  async createConfigurationVersion(workspaceId: string): Promise<{ id: string; uploadUrl: string }> {
    const doc = await this.call('POST', `/workspaces/${workspaceId}/configuration-versions`, CvDoc, {
      data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } },
    });
    const uploadUrl = doc!.data.attributes['upload-url'];
    if (!uploadUrl) throw new TerraformCloudError(`configuration version ${doc!.data.id} has no upload-url`);
    return { id: doc!.data.id, uploadUrl };
  }

  /** PUT the configuration tarball (tar.gz) to the upload URL (pre-signed: no token is sent). */
  async upload(uploadUrl: string, tarball: Buffer): Promise<void> {
    let res: Response;
    try {
      res = await (this.props.fetch ?? fetch)(uploadUrl, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(tarball) });
    } catch (cause) {
      throw new TerraformCloudError(`upload of the configuration tarball failed: ${(cause as Error).message}`, { cause });
    }
    if (!res.ok) throw new TerraformCloudError(`upload of the configuration tarball answered HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }

  /** GET /configuration-versions/:id → status. */
  async configurationVersionStatus(id: string): Promise<string> {
    return (await this.call('GET', `/configuration-versions/${id}`, CvDoc))!.data.attributes.status;
  }

  /** POST /runs for a configuration version, without auto-apply. */
  async createRun(workspaceId: string, configurationVersionId: string, message: string): Promise<RunInfo> {
    const doc = await this.call('POST', '/runs', RunDoc, {
      data: {
        type: 'runs',
        attributes: { message, 'auto-apply': false },
        relationships: {
          workspace: { data: { type: 'workspaces', id: workspaceId } },
          'configuration-version': { data: { type: 'configuration-versions', id: configurationVersionId } },
        },
      },
    });
    return runInfo(doc!);
  }

  /** GET /runs/:id. */
  async run(id: string): Promise<RunInfo> {
    return runInfo((await this.call('GET', `/runs/${id}`, RunDoc))!);
  }

  /** GET /plans/:id/json-output (follows the redirect to the temporary URL) → resource changes. */
  async planChanges(planId: string): Promise<ResourceChange[]> {
    const doc = await this.call('GET', `/plans/${planId}/json-output`, PlanJsonSchema);
    return (doc!.resource_changes ?? []).map((c) => ({ address: c.address, type: c.type, actions: c.change.actions }));
  }

  /** POST /runs/:id/actions/apply. */
  async apply(runId: string, comment: string): Promise<void> {
    await this.call('POST', `/runs/${runId}/actions/apply`, null, { comment });
  }

  /** GET /runs/:id/policy-checks (unpaginated: every policy check of the run). */
  async policyChecks(runId: string): Promise<PolicyCheckInfo[]> {
    const doc = await this.call('GET', `/runs/${runId}/policy-checks`, PolicyCheckListDoc);
    return doc!.data.map(policyCheckInfo);
  }

  /** POST /policy-checks/:id/actions/override: overrides a soft-failed policy check; returns it as it is after. */
  async overridePolicyCheck(policyCheckId: string): Promise<PolicyCheckInfo> {
    const doc = await this.call('POST', `/policy-checks/${policyCheckId}/actions/override`, PolicyCheckDoc);
    return policyCheckInfo(doc!.data);
  }

  /** GET /cost-estimates/:id. */
  async costEstimate(id: string): Promise<CostEstimateInfo> {
    const d = (await this.call('GET', `/cost-estimates/${id}`, CostEstimateDoc))!.data;
    const a = d.attributes;
    return {
      id: d.id,
      status: a.status,
      priorMonthlyCost: a['prior-monthly-cost'] ?? null,
      proposedMonthlyCost: a['proposed-monthly-cost'] ?? null,
      deltaMonthlyCost: a['delta-monthly-cost'] ?? null,
      resourcesCount: a['resources-count'] ?? null,
      matchedResourcesCount: a['matched-resources-count'] ?? null,
      errorMessage: a['error-message'] ?? null,
    };
  }

  /** POST /runs/:id/actions/discard. */
  async discard(runId: string, comment: string): Promise<void> {
    await this.call('POST', `/runs/${runId}/actions/discard`, null, { comment });
  }
}

function runInfo(doc: z.output<typeof RunDoc>): RunInfo {
  const rel = doc.data.relationships;
  return {
    id: doc.data.id,
    status: doc.data.attributes.status,
    planId: rel?.plan?.data?.id ?? null,
    confirmable: doc.data.attributes.actions?.['is-confirmable'] ?? false,
    costEstimateId: rel?.['cost-estimate']?.data?.id ?? null,
    policyCheckIds: (rel?.['policy-checks']?.data ?? []).map((r) => r.id),
  };
}

function policyCheckInfo(d: z.output<typeof PolicyCheckData>): PolicyCheckInfo {
  const a = d.attributes;
  const sets = a.result?.sentinel?.data ?? {};
  const policies = Object.values(sets).flatMap((set) =>
    (set.policies ?? []).map((p) => ({ name: p.policy, passed: p.result === true, advisory: (p.allowed_failure ?? p['allowed-failure']) === true })),
  );
  return {
    id: d.id,
    status: a.status,
    scope: a.scope ?? null,
    hardFailed: a.result?.['hard-failed'] ?? 0,
    softFailed: a.result?.['soft-failed'] ?? 0,
    advisoryFailed: a.result?.['advisory-failed'] ?? 0,
    policies,
    overridable: (a.actions?.['is-overridable'] ?? false) && (a.permissions?.['can-override'] ?? false),
  };
}
