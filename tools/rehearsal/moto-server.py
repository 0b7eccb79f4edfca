"""moto in server mode, with each request handled atomically, and IAM resources as AWS evaluates them.

moto's backends are not thread-safe: two concurrent conditional writes to one DynamoDB item can
both pass their condition check, which real DynamoDB never allows. The ledger's locks and
idempotency claims depend on that atomicity, so this launcher serializes requests through one
lock around moto's WSGI application (connections are still accepted concurrently).

With IAM enforcement on (INITIAL_NO_AUTH_ACTION_COUNT, or POST /moto-api/reset-auth), moto checks
a request's action against the caller's policies, but for most services against the resource "*",
so a policy scoped to a table, parameter, repository or secret (as every policy of this platform is)
never matches. The handlers below give moto the resource ARN of the request, as IAM would evaluate
it, for the services the platform's builds and functions call: DynamoDB (table, index), SSM
(parameter), ECR (repository), Secrets Manager (secret), CloudWatch (alarm), EventBridge (event bus,
rule), CloudWatch Logs (log group, log stream), KMS (key). Calls without a resource (PutMetricData, GetAuthorizationToken, list calls) keep
"*". A DynamoDB
transaction is authorized item by item, as IAM does: TransactWriteItems and TransactGetItems are not
IAM actions, each item needs the action of its operation (PutItem, UpdateItem, DeleteItem,
ConditionCheckItem, GetItem) on its table.

Usage: python moto-server.py HOST PORT
"""
import json
import sys
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def _json_body(handler):
    params = getattr(handler, "params", None)
    if isinstance(params, dict) and params:
        return params  # moto's own parse of the request
    body = handler.body
    if isinstance(body, dict):
        return body
    try:
        text = body if isinstance(body, str) else body.decode("utf-8")
        return json.loads(text) if text else {}
    except Exception:  # not a JSON-protocol request
        return {}


def _first_param(handler, *names):
    body = _json_body(handler)
    for name in names:
        if isinstance(body.get(name), str):
            return body[name]
        if isinstance(body.get(name), list) and body[name] and isinstance(body[name][0], str):
            return body[name][0]
        for key in (name, f"{name}.member.1"):
            value = handler.querystring.get(key)
            if value:
                return value[0]
    return None


def _arn(handler, service, resource):
    return f"arn:aws:{service}:{handler.region}:{handler.current_account}:{resource}"


def _dynamodb(handler):
    body = _json_body(handler)
    table = body.get("TableName")
    if not table:
        for key in ("RequestItems", "TransactItems"):
            items = body.get(key)
            if isinstance(items, dict) and items:
                table = next(iter(items))
            elif isinstance(items, list) and items:
                table = next((v.get("TableName") for v in items[0].values() if isinstance(v, dict)), None)
    if not table:
        return "*"
    if body.get("IndexName"):
        return _arn(handler, "dynamodb", f"table/{table}/index/{body['IndexName']}")
    return _arn(handler, "dynamodb", f"table/{table}")


def _ssm(handler):
    name = _first_param(handler, "Name", "Names", "Path")
    if not name:
        return "*"
    return _arn(handler, "ssm", f"parameter{name if name.startswith('/') else '/' + name}")


def _ecr(handler):
    name = _first_param(handler, "repositoryName")
    return _arn(handler, "ecr", f"repository/{name}") if name else "*"


def _secretsmanager(handler):
    secret = _first_param(handler, "SecretId", "Name")
    if not secret:
        return "*"
    return secret if secret.startswith("arn:") else _arn(handler, "secretsmanager", f"secret:{secret}")


def _cloudwatch(handler):
    name = _first_param(handler, "AlarmName", "AlarmNames")
    return _arn(handler, "cloudwatch", f"alarm:{name}") if name else "*"


def _events(handler):
    body = _json_body(handler)
    entries = body.get("Entries")
    if isinstance(entries, list) and entries:
        # PutEvents: the bus of the entries (IAM evaluates each entry's bus; the platform puts one bus per call)
        bus = entries[0].get("EventBusName") or "default"
    else:
        bus = body.get("EventBusName") or body.get("Name")
        rule = body.get("Rule")
        if rule:
            return _arn(handler, "events", f"rule/{rule}" if not bus or bus == "default" else f"rule/{bus}/{rule}")
    if not bus:
        return "*"
    return bus if bus.startswith("arn:") else _arn(handler, "events", f"event-bus/{bus}")


def _logs(handler):
    body = _json_body(handler)
    group = body.get("logGroupName")
    if not group:
        return "*"
    stream = body.get("logStreamName")
    # a stream's actions (CreateLogStream, PutLogEvents, GetLogEvents) are on the stream; the group's on the group
    return _arn(handler, "logs", f"log-group:{group}:log-stream:{stream}" if stream else f"log-group:{group}")


def _kms(handler):
    key = _first_param(handler, "KeyId")
    if not key:
        return "*"
    return key if key.startswith("arn:") else _arn(handler, "kms", f"key/{key}")


_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _transaction_items(action, body, resource):
    """For a DynamoDB transaction, (IAM action, table ARN) of each item; None for any other request."""
    if action not in ("dynamodb:TransactWriteItems", "dynamodb:TransactGetItems") or ":table/" not in resource:
        return None
    prefix = resource.split(":table/")[0]
    try:
        items = json.loads(body if isinstance(body, str) else body.decode("utf-8")).get("TransactItems") or []
    except Exception:
        return None
    out = []
    for item in items:
        for op, spec in item.items():
            if op in _TRANSACT_ACTIONS and isinstance(spec, dict) and spec.get("TableName"):
                out.append((f"dynamodb:{_TRANSACT_ACTIONS[op]}", f"{prefix}:table/{spec['TableName']}"))
    return out or None


def install_resource_handlers():
    """Adds `_determine_resource` to the response classes of the services above."""
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.dynamodb.responses import DynamoHandler
    from moto.ecr.responses import ECRResponse
    from moto.events.responses import EventsHandler
    from moto.kms.responses import KmsResponse
    from moto.logs.responses import LogsResponse
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    def guarded(fn):
        def determine(self):
            try:
                return fn(self)
            except Exception:  # never let the ARN lookup break a request
                return "*"

        return determine

    for cls, fn in (
        (DynamoHandler, _dynamodb),
        (SimpleSystemManagerResponse, _ssm),
        (ECRResponse, _ecr),
        (SecretsManagerResponse, _secretsmanager),
        (CloudWatchResponse, _cloudwatch),
        (EventsHandler, _events),
        (LogsResponse, _logs),
        (KmsResponse, _kms),
    ):
        cls._determine_resource = guarded(fn)


def install_access_denied_messages():
    """AccessDenied as AWS words it (caller, action and resource), and as JSON for JSON-protocol services."""
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.iam.access_control import IAMRequest, S3IAMRequest

    # moto names the action after the signing name of the request; IAM's prefix differs for a few services
    iam_prefix = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "apigateway"}

    def remember(original):
        def check(self, resource):
            service, _, name = self._action.partition(":")
            self._action = f"{iam_prefix.get(service, service)}:{name}"
            items = _transaction_items(self._action, self._body, resource)
            if items is not None:
                # IAM has no TransactWriteItems or TransactGetItems action: each item is authorized as
                # the operation it is (PutItem, UpdateItem, DeleteItem, ConditionCheckItem, GetItem) on its table
                for action, item_resource in items:
                    self._action = action
                    self._dataops_resource = item_resource
                    original(self, item_resource)
                return None
            self._dataops_resource = resource
            return original(self, resource)

        return check

    IAMRequest.check_action_permitted = remember(IAMRequest.check_action_permitted)

    def denied(self):
        resource = getattr(self, "_dataops_resource", "*")
        message = (
            f"User: {self._access_key.arn} is not authorized to perform: {self._action} on resource: {resource} "
            f"because no identity-based policy allows the {self._action} action"
        )
        if self._headers.get("X-Amz-Target") or self._headers.get("x-amz-target"):
            error = JsonRESTError("AccessDeniedException", message)
            error.code = 400
            raise error
        error = AccessDeniedError(user_arn=self._access_key.arn, action=self._action)
        error.message = message
        raise error

    IAMRequest._raise_access_denied = denied

    from moto.s3.exceptions import S3ClientError

    S3IAMRequest.check_action_permitted = remember(S3IAMRequest.check_action_permitted)

    def s3_denied(self):
        resource = getattr(self, "_dataops_resource", "*")
        raise S3ClientError("AccessDenied", f"User: {self._access_key.arn} is not authorized to perform: {self._action} on resource: {resource}")

    S3IAMRequest._raise_access_denied = s3_denied


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    install_resource_handlers()
    install_access_denied_messages()
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Materialize the body inside the lock: the backend call may be lazy.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
