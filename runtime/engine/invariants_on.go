//go:build invariants

package engine

// invariantsEnabled turns on expensive internal assertions (make test builds with the
// invariants tag).
const invariantsEnabled = true
