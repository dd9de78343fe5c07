//go:build wasip1

// Command plugin is the Extism guest used by the benchmarks in the parent
// directory: a condition equivalent to a Wayline condition plugin (see
// sdk/ABI.md, "condition"), written against the Extism Go PDK and built with
// the standard Go toolchain as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ../testdata/plugin.wasm .
//
// build.sh in the parent directory does this.
package main

import (
	"encoding/json"
	"strconv"

	pdk "github.com/extism/go-pdk"
)

// conditionInput is the part of a Wayline condition input this plugin reads;
// encoding/json still scans (and skips) the rest of the document.
type conditionInput struct {
	Config struct {
		Tier string `json:"tier"`
	} `json:"config"`
	Profile struct {
		Attributes struct {
			Points float64 `json:"points"`
		} `json:"attributes"`
	} `json:"profile"`
}

var (
	outTrue  = []byte(`{"result":true}`)
	outFalse = []byte(`{"result":false}`)
)

// condition: {"result":true} when profile.attributes.points >= 1000.
//
//go:wasmexport condition
func condition() int32 {
	var in conditionInput
	if err := json.Unmarshal(pdk.Input(), &in); err != nil {
		pdk.SetError(err)
		return 1
	}
	if in.Profile.Attributes.Points >= 1000 {
		pdk.Output(outTrue)
	} else {
		pdk.Output(outFalse)
	}
	return 0
}

//go:wasmimport extism:host/env input_length
func inputLength() uint64

// noop answers the input's length in decimal without reading the input: the
// cost of one Extism call (input copied in by the host, one output out).
//
//go:wasmexport noop
func noop() int32 {
	var buf [20]byte
	pdk.Output(strconv.AppendUint(buf[:0], inputLength(), 10))
	return 0
}

// read copies the whole input into guest memory (pdk.Input: one host call per
// 8 bytes) and answers its length, without parsing it.
//
//go:wasmexport read
func read() int32 {
	var buf [20]byte
	pdk.Output(strconv.AppendUint(buf[:0], uint64(len(pdk.Input())), 10))
	return 0
}

func main() {}
