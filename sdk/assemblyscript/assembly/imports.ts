// The host functions of ABI v1 (import module "wayline"; sdk/ABI.md, "Host functions").
// Only host.ts and runtime.ts use these; plugins call the wrappers in host.ts.

// @ts-ignore: decorator
@external("wayline", "log")
export declare function wl_log(level: i32, ptr: usize, len: usize): void;
// @ts-ignore: decorator
@external("wayline", "error")
export declare function wl_error(code: i32, ptr: usize, len: usize): void;
// @ts-ignore: decorator
@external("wayline", "now_unix_nano")
export declare function wl_now_unix_nano(): i64;
// @ts-ignore: decorator
@external("wayline", "config_get")
export declare function wl_config_get(ptr: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wayline", "secret_get")
export declare function wl_secret_get(ptr: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wayline", "kv_get")
export declare function wl_kv_get(ptr: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wayline", "kv_set")
export declare function wl_kv_set(kptr: usize, klen: usize, vptr: usize, vlen: usize): i32;
// @ts-ignore: decorator
@external("wayline", "kv_delete")
export declare function wl_kv_delete(ptr: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wayline", "http_request")
export declare function wl_http_request(ptr: usize, len: usize): i32;
// @ts-ignore: decorator
@external("wayline", "take_result")
export declare function wl_take_result(ptr: usize, cap: usize): i32;

