// crm-sync: an action that upserts the journey's profile as a contact in a CRM.
//
// config:  {"baseUrl":"https://crm.example.com","list":"vip"}   (list is optional)
// secret:  apiKey                                               (sent as a bearer token)
// payload: {"email":"ann@example.com","firstName":"Ann","points":1200, ...}
//
// It POSTs the payload (plus list and the profile id) as JSON to {baseUrl}/contacts with the
// call's idempotency key, so a retried attempt never creates a second contact. 2xx answers
// {"ok":true,"data":{"status":201,"contactId":"c-123"}}; 408, 429, 5xx and network failures are
// `upstream` (retried with backoff); other 4xx are `rejected` (dead-lettered); a host the node
// refuses to call (not in allowedHosts, or an address its SSRF guard blocks) is `invalid_config`,
// since no retry can fix it.

export * from "@wayline/plugin-sdk/assembly/exports/action";

import {
  ActionInput,
  ActionResult,
  ErrorCode,
  HttpRequest,
  Status,
  Value,
  httpRequest,
  lastStatus,
  logDebug,
  registerAction,
  secretGet,
  statusName,
} from "@wayline/plugin-sdk/assembly";

registerAction(sync);

function sync(input: ActionInput): ActionResult {
  // Config problems first: they need an operator, not a retry.
  const baseUrl = input.config.getString("baseUrl");
  if (baseUrl == null || baseUrl.length == 0) {
    return ActionResult.fail(ErrorCode.InvalidConfig, "config.baseUrl is required (e.g. \"https://crm.example.com\")");
  }
  if (!baseUrl.startsWith("http://") && !baseUrl.startsWith("https://")) {
    return ActionResult.fail(ErrorCode.InvalidConfig, "config.baseUrl must start with http:// or https://, got \"" + baseUrl + "\"");
  }
  const apiKey = secretGet("apiKey");
  if (apiKey == null) {
    return ActionResult.fail(ErrorCode.InvalidConfig, "secret apiKey is not set on the installation (" + statusName(lastStatus()) + ")");
  }

  const payload = input.payload;
  if (!payload.isObject) {
    return ActionResult.fail(ErrorCode.InvalidInput, "payload must be an object with an email");
  }
  const email = payload.getString("email");
  if (email == null || email.length == 0) {
    return ActionResult.fail(ErrorCode.InvalidInput, "payload.email is required");
  }

  // The contact: the payload's fields, the list from config, the profile id as an external id.
  const contact = Value.obj();
  for (let i = 0; i < payload.length; i++) contact.set(payload.keyAt(i), payload.at(i)!);
  const list = input.config.getString("list");
  if (list != null && list.length > 0) contact.setString("list", list);
  if (input.profile.id.length > 0) contact.setString("externalId", input.profile.id);

  const url = trimSlashes(baseUrl) + "/contacts";
  const req = new HttpRequest("POST", url)
    .header("Authorization", "Bearer " + apiKey)
    .header("Idempotency-Key", input.idempotencyKey)
    .header("Accept", "application/json")
    .json(contact);
  const resp = httpRequest(req);

  if (resp.status < 0) {
    if (resp.status == Status.Denied) {
      // Retrying cannot help: the host is not in allowedHosts or its address is refused.
      return ActionResult.fail(ErrorCode.InvalidConfig, "POST " + url + " refused by the host: " + resp.error);
    }
    return ActionResult.fail(ErrorCode.Upstream, "POST " + url + " failed: " + resp.error);
  }
  const status = resp.status;
  if (resp.ok) {
    const data = Value.obj().setNumber("status", <f64>status);
    const body = resp.json();
    if (body != null && body.isObject) {
      const id = body.get("id");
      if (id != null && (id.isString || id.isNumber)) data.set("contactId", id);
    }
    logDebug("synced " + email + " to " + url + " (" + status.toString() + ")");
    return ActionResult.ok(data);
  }
  const detail = "POST " + url + " answered " + status.toString() + ": " + excerpt(resp.body);
  if (status == 408 || status == 429 || status >= 500) {
    return ActionResult.fail(ErrorCode.Upstream, detail);
  }
  if (status >= 400) {
    return ActionResult.fail(ErrorCode.Rejected, detail);
  }
  // 1xx or an unfollowed 3xx: not an answer the CRM gives; try again later.
  return ActionResult.fail(ErrorCode.Upstream, detail);
}

function trimSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) == 0x2f) end--;
  return s.substring(0, end);
}

function excerpt(body: string): string {
  return body.length <= 200 ? body : body.substring(0, 200) + "...";
}
