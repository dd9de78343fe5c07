// @wayline/plugin-sdk: write Wayline plugins in AssemblyScript (ABI v1, sdk/ABI.md).
//
// A plugin's entry file re-exports the ABI exports of its kind(s) and registers its handler:
//
//   export * from "@wayline/plugin-sdk/assembly/exports/action";
//   import { registerAction, ActionInput, ActionResult } from "@wayline/plugin-sdk/assembly";
//   registerAction((input: ActionInput): ActionResult => ActionResult.ok());
//
// and is built with plugin.asconfig.json (see README.md).

export { Value, Kind, MAX_DEPTH, parse, parseBytes, lastJSONError, formatNumber } from "./json";
export {
  ErrorCode, Status, LogLevel, statusName, lastStatus, lastMessage,
  log, logDebug, logInfo, logWarn, logError, reportError,
  now, nowMillis, configGet, secretGet,
  kvGet, kvGetBytes, kvGetJSON, kvSet, kvSetBytes, kvSetJSON, kvDelete,
  HttpRequest, HttpResponse, httpRequest,
} from "./host";
export { Event, Profile } from "./call";
export { ConditionInput, ConditionResult, ConditionHandler, registerCondition } from "./condition";
export { DatasourceInput, DatasourceResult, DatasourceHandler, registerDatasource } from "./datasource";
export { ActionInput, ActionResult, ActionHandler, registerAction } from "./action";
