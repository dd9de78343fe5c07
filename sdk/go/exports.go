//go:build wasip1

package wayline

import (
	"bytes"
	"encoding/json"
	"errors"
	"unsafe"

	"github.com/wayline/wayline/sdk/abi"
)

var (
	// live keeps blocks handed to the host reachable until it frees them (Go's collector
	// does not move objects, so a pointer stays valid while the block is referenced).
	live = map[uint32][]byte{}
	// output is the last handler output; it stays valid until the next call.
	output []byte
)

//go:wasmexport wayline_abi_version_1
func abiVersion1() {}

//go:wasmexport wayline_alloc
func walloc(size int32) int32 {
	if size <= 0 {
		size = 1
	}
	b := make([]byte, size)
	p := ptrOf(b)
	live[p] = b
	return int32(p)
}

//go:wasmexport wayline_free
func wfree(ptr, _ int32) { delete(live, uint32(ptr)) }

func ptrOf(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// input views the host's bytes without copying: the host writes into a block it got from
// wayline_alloc, so the block is found by its address. Handlers decode before returning.
func input(ptr, n int32) []byte {
	b := live[uint32(ptr)]
	if n < 0 || int(n) > len(b) {
		return nil
	}
	return b[:n]
}

func respond(v any, err error) int64 {
	if err != nil {
		reportError(err)
		return 0
	}
	b, merr := json.Marshal(v)
	if merr != nil {
		reportError(&Error{abi.ErrInternal, "encoding the output: " + merr.Error()})
		return 0
	}
	output = b
	if len(b) == 0 {
		return 0
	}
	return int64(ptrOf(b))<<32 | int64(len(b))
}

func reportError(err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{abi.ErrInternal, err.Error()}
	}
	msg := []byte(e.Message)
	hostError(int32(e.Code), bufPtr(msg), int32(len(msg)))
}

func decode(ptr, n int32, v any) error {
	if err := json.Unmarshal(input(ptr, n), v); err != nil {
		return InvalidInput("input is not the JSON sdk/ABI.md describes: %v", err)
	}
	return nil
}

//go:wasmexport wayline_condition
func wcondition(ptr, n int32) int64 {
	if conditionFn == nil {
		return respond(nil, &Error{abi.ErrInternal, "no condition handler registered (call wayline.HandleCondition in init)"})
	}
	return respond(conditionFn(input(ptr, n)))
}

type batchInput struct {
	Config json.RawMessage   `json:"config"`
	Now    string            `json:"now"`
	Items  []json.RawMessage `json:"items"`
}

type batchResult struct {
	Result bool        `json:"result"`
	Reason string      `json:"reason,omitempty"`
	Error  *batchError `json:"error,omitempty"`
}

type batchError struct {
	Code    int32  `json:"code"`
	Message string `json:"message"`
}

// wconditionBatch answers each item with the one-item handler: an item becomes a one-item
// input by splicing the batch's shared config and now into its object.
//
//go:wasmexport wayline_condition_batch
func wconditionBatch(ptr, n int32) int64 {
	if conditionFn == nil {
		return respond(nil, &Error{abi.ErrInternal, "no condition handler registered (call wayline.HandleCondition in init)"})
	}
	var in batchInput
	if err := decode(ptr, n, &in); err != nil {
		return respond(nil, err)
	}
	if len(in.Config) == 0 {
		in.Config = json.RawMessage("{}")
	}
	now, _ := json.Marshal(in.Now)
	head := append(append(append([]byte(`{"abi":1,"kind":"condition","config":`), in.Config...), `,"now":`...), now...)
	out := struct {
		Results []batchResult `json:"results"`
	}{Results: make([]batchResult, len(in.Items))}
	var one []byte
	for i, it := range in.Items {
		body := bytes.TrimSpace(it)
		if len(body) < 2 || body[0] != '{' {
			out.Results[i].Error = &batchError{int32(abi.ErrInvalidInput), "an item is not an object"}
			continue
		}
		one = append(one[:0], head...)
		if inner := bytes.TrimSpace(body[1:]); len(inner) > 0 && inner[0] != '}' {
			one = append(one, ',')
		}
		one = append(one, body[1:]...)
		r, err := conditionFn(one)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{abi.ErrInternal, err.Error()}
			}
			out.Results[i].Error = &batchError{int32(e.Code), e.Message}
			continue
		}
		out.Results[i] = batchResult{Result: r.Result, Reason: r.Reason}
	}
	return respond(out, nil)
}

//go:wasmexport wayline_datasource
func wdatasource(ptr, n int32) int64 {
	if dataSourceFn == nil {
		return respond(nil, &Error{abi.ErrInternal, "no data-source handler registered (call wayline.HandleDataSource in init)"})
	}
	var in DataSourceInput
	if err := decode(ptr, n, &in); err != nil {
		return respond(nil, err)
	}
	return respond(dataSourceFn(&in))
}

//go:wasmexport wayline_action
func waction(ptr, n int32) int64 {
	if actionFn == nil {
		return respond(nil, &Error{abi.ErrInternal, "no action handler registered (call wayline.HandleAction in init)"})
	}
	var in ActionInput
	if err := decode(ptr, n, &in); err != nil {
		return respond(nil, err)
	}
	return respond(actionFn(&in))
}
