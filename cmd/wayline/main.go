// Command wayline is the one Wayline binary: `wayline serve` runs a node; other subcommands
// are clients of a running node.
package main

import (
	"fmt"
	"os"
)

const usage = `wayline — journey orchestration at the edge

Usage:
  wayline serve [flags]     run a node (see wayline serve -h)
  wayline send [FILE|-]     stream NDJSON events to a node (see wayline send -h)
  wayline bench [flags]     measure a node against bare fasthttp and Pebble (see wayline bench -h)
  wayline plugin COMMAND    push, list or test Wasm plugins (see wayline plugin help)
  wayline users COMMAND     add, list or delete designer users (see wayline users help)
  wayline profiles import FILE   bulk-import NDJSON profiles (see wayline profiles help)
  wayline cluster status    members, partition leaders, epochs and replication lag (see wayline cluster help)
  wayline version           print the version

Every serve flag has a WAYLINE_* environment variable (flag --data is WAYLINE_DATA).
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch args[0] {
	case "serve":
		os.Exit(serve(args[1:]))
	case "send":
		os.Exit(send(args[1:]))
	case "bench":
		os.Exit(benchCmd(args[1:]))
	case "plugin", "plugins":
		os.Exit(pluginCmd(args[1:]))
	case "users", "user":
		os.Exit(usersCmd(args[1:]))
	case "profiles", "profile":
		os.Exit(profilesCmd(args[1:]))
	case "cluster":
		os.Exit(clusterCmd(args[1:]))
	case "version", "--version":
		fmt.Println("wayline", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "wayline: unknown command %q\n\n%s", args[0], usage)
		os.Exit(2)
	}
}
