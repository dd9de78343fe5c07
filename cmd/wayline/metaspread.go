package main

import (
	"log/slog"

	"github.com/wayline/wayline/cluster"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/store"
)

// spreadMetadata connects the metadata spread to the node (filled in when metasync lands).
func spreadMetadata(node *cluster.Node, st *store.Store, md *meta.Store, log *slog.Logger) error {
	return nil
}
