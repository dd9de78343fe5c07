package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wayline/wayline/cluster"
	"github.com/wayline/wayline/cluster/metasync"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/store"
)

// startCluster makes this node a cluster member: placement, forwarding, replication and the
// metadata spread. The engine must not have started.
func startCluster(f serveFlags, publicURL string, eng *engine.Engine, st *store.Store, md *meta.Store, cat *catalog.Catalog, log *slog.Logger) (*cluster.Node, *metasync.Sync, error) {
	c := f.cluster
	if c.gossip == "" || c.internal == "" {
		return nil, nil, errors.New("cluster: --gossip and --internal are both needed to run as a cluster member (e.g. --gossip 127.0.0.1:7946 --internal 127.0.0.1:7947)")
	}
	cfg := cluster.Config{Name: c.node, Gossip: c.gossip, Internal: c.internal, Advertise: c.advertise, Join: splitList(c.join),
		Secret: c.secret, APIURL: publicURL, Replicas: c.replicas, FaultInjection: c.faultInjection, Log: log}
	node, err := cluster.New(cfg, eng, st.DB)
	if err != nil {
		return nil, nil, err
	}
	spread, err := spreadMetadata(node, st, md, cat, log)
	if err != nil {
		return nil, nil, err
	}
	return node, spread, nil
}

const clusterUsage = `Usage:
  wayline cluster status [--url URL] [--key KEY] [--json]
      the cluster a node belongs to: members and their state, and every partition's leader,
      epoch, followers, which followers are in sync and how far behind the others are
  wayline cluster local [--nodes N] [--data DIR]
      start N nodes as a cluster on 127.0.0.1 (make cluster; see wayline cluster local -h)

`

func clusterCmd(args []string) int {
	if len(args) > 0 && args[0] == "local" {
		return clusterLocal(args[1:])
	}
	if len(args) == 0 || args[0] != "status" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			fmt.Print(clusterUsage)
			return 0
		}
		fmt.Fprint(os.Stderr, clusterUsage)
		return 2
	}
	fs := flag.NewFlagSet("cluster status", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "node URL (WAYLINE_URL)")
	key := fs.String("key", "", "API key with the viewer role or above (WAYLINE_KEY)")
	asJSON := fs.Bool("json", false, "print the raw JSON of GET /v1/cluster")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), clusterUsage)
		fs.PrintDefaults()
	}
	if err := bindEnvOnly(fs, "url", "key"); err != nil {
		fmt.Fprintln(os.Stderr, "wayline cluster status:", err)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(*url, "/")+"/v1/cluster", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wayline cluster status:", err)
		return 2
	}
	req.Header.Set("Authorization", "Bearer "+*key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wayline cluster status: %v (is a node running at %s?)\n", err, *url)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		fmt.Fprintf(os.Stderr, "wayline cluster status: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	if *asJSON {
		os.Stdout.Write(body)
		fmt.Println()
		return 0
	}
	var st cluster.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintln(os.Stderr, "wayline cluster status: unreadable answer:", err)
		return 1
	}
	printStatus(os.Stdout, st)
	return 0
}

func printStatus(w io.Writer, st cluster.Status) {
	if st.Node == "" {
		fmt.Fprintf(w, "single node (%d partitions, not a cluster member)\n", st.PartitionCount)
		return
	}
	fmt.Fprintf(w, "seen from %s: %d partitions, replication factor %d, quorum %v, roster %s\n\n",
		st.Node, st.PartitionCount, st.ReplicationFactor, st.Quorum, strings.Join(st.Roster, ", "))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tSTATE\tLEADS\tAPI\tINTERNAL")
	for _, m := range st.Members {
		state := m.State
		if m.Leaving {
			state += " (leaving)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", m.Name, state, m.Leads, m.APIURL, m.Internal)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tLEADER\tEPOCH\tLSN\tIN SYNC\tBEHIND (lag)")
	for _, p := range st.Partitions {
		var in, out []string
		for _, f := range p.Followers {
			if f.InSync {
				in = append(in, f.Node)
			} else {
				out = append(out, fmt.Sprintf("%s (%d)", f.Node, f.Lag))
			}
		}
		sort.Strings(in)
		leader := p.Leader
		if leader == "" {
			leader = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\n", p.ID, leader, p.Epoch, p.Position.LSN, strings.Join(in, ","), strings.Join(out, ","))
	}
	tw.Flush()
}
