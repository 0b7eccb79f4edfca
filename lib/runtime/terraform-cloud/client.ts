import { z } from 'zod';

/** A Terraform Cloud API call failed; the message names the call and the API's answer. */
export class TerraformCloudError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerraformCloudError';
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
const RunDoc = Doc(
  z
    .object({
      id: z.string(),
      attributes: z.object({ status: z.string(), actions: z.object({ 'is-confirmable': z.boolean().optional() }).loose().optional() }).loose(),
      relationships: z.object({ plan: z.object({ data: z.object({ id: z.string() }).nullish() }).optional() }).loose().optional(),
    })
    .loose(),
);

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
  readonly confirmable: boolean;
}

/**
 * A small client of the HCP Terraform / Terraform Cloud API (JSON:API, Bearer token) for the
 * API-driven run workflow: configuration version → upload → run → plan JSON → apply.
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
      throw new TerraformCloudError(`${method} ${path} answered HTTP ${res.status}: ${text.slice(0, 300)}${hint}`);
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

  /** POST /runs/:id/actions/discard. */
  async discard(runId: string, comment: string): Promise<void> {
    await this.call('POST', `/runs/${runId}/actions/discard`, null, { comment });
  }
}

function runInfo(doc: z.output<typeof RunDoc>): RunInfo {
  return {
    id: doc.data.id,
    status: doc.data.attributes.status,
    planId: doc.data.relationships?.plan?.data?.id ?? null,
    confirmable: doc.data.attributes.actions?.['is-confirmable'] ?? false,
  };
}
