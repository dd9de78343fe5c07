package main

import (
	"context"
	"log/slog"

	"github.com/wayline/wayline/cluster"
	"github.com/wayline/wayline/cluster/metasync"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/store"
)

// spreadMetadata connects the metadata spread to the node: gossip carries the versions, the
// internal port the records, with what each needs (the catalog knows what a journey uses). The
// returned Sync must be closed before the store.
func spreadMetadata(node *cluster.Node, st *store.Store, md *meta.Store, cat *catalog.Catalog, log *slog.Logger) (*metasync.Sync, error) {
	s, err := metasync.New(metasync.Config{Meta: md, DB: st.DB, Node: node.Name(), Broadcast: node.Broadcast, Log: log,
		Requires: func(kind, id string, value []byte) []metasync.Key {
			refs := cat.Requires(kind, id, value)
			keys := make([]metasync.Key, len(refs))
			for i, r := range refs {
				keys[i] = metasync.Key{Kind: r.Kind, ID: r.ID}
			}
			return keys
		},
		Fetch: func(ctx context.Context, peer string, keys []metasync.Key) ([]metasync.Entry, error) {
			out, err := node.FetchMeta(ctx, peer, metasync.MarshalKeys(keys))
			if err != nil {
				return nil, err
			}
			return metasync.UnmarshalEntries(out)
		}})
	if err != nil {
		return nil, err
	}
	node.UseMeta(cluster.MetaHooks{NotifyMsg: s.NotifyMsg, LocalState: s.LocalState, MergeRemoteState: s.MergeRemoteState,
		Serve: func(body []byte) ([]byte, error) {
			keys, err := metasync.UnmarshalKeys(body)
			if err != nil {
				return nil, err
			}
			es, err := s.Entries(keys)
			if err != nil {
				return nil, err
			}
			return metasync.MarshalEntries(es), nil
		}})
	return s, nil
}
