// Package designer embeds the web designer (the TypeScript/React app in this folder) into the
// wayline binary. `make build` runs Vite into dist/ (git-ignored) and builds with
// `-tags designer`, which embeds dist/; without the tag a placeholder page is embedded instead,
// so `go build`, `go vet` and `go test ./...` work without Node.js.
package designer
