// Package plugins is the WebAssembly host: it validates plugin modules and manifests, compiles
// each module once (wazero, with an on-disk compilation cache), keeps a bounded pool of warm
// instances per plugin, and calls guest handlers under limits — memory pages, a deadline per
// call, input and output caps, outbound HTTP through an SSRF guard to allow-listed hosts only.
//
// A call flows: Plugin.Call → take an idle instance (or instantiate one) → write the input into
// the instance's reusable input buffer → arm the watchdog → call the handler export → disarm →
// read the packed (pointer, length) output. Any trap, deadline or limit breach discards the
// instance, so the next call starts clean; the error names what happened.
//
// The package knows nothing of journeys: it carries bytes and calls. The ABI it speaks is in
// sdk/ABI.md, with its names and codes in sdk/abi.
package plugins
