package client_test

import (
	"context"
	"log"
	"os"
	"time"

	client "github.com/wayline/wayline/sdk/client/go"
)

// Send one event and wait for it; stream many through the queue; close, which flushes.
func Example() {
	c, err := client.New(client.Config{
		URLs:   []string{"http://10.0.0.1:8080", "http://10.0.0.2:8080"},
		APIKey: os.Getenv("WAYLINE_KEY"),
		// Streamed events that the node refuses, or that could not be delivered, end up here.
		OnResult: func(ev client.Event, r client.Result) {
			if !r.Acked() {
				log.Printf("event %s %s: %v", ev.ID, r.Status, r.Err)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// One event, one request; waits for the node's acknowledgement.
	res, err := c.Send(ctx, client.Event{Type: "signup", Data: map[string]any{"userId": "42", "email": "ada@example.com"}})
	if err != nil {
		log.Fatal(err) // an *client.APIError says what was wrong: Code, Message, Field
	}
	log.Printf("stored as %s (%s)", res.ID, res.Status)

	// A high-volume stream: queued, batched, sent as NDJSON.
	for i := 0; i < 100000; i++ {
		ev := client.Event{Type: "page.viewed", Timestamp: time.Now(), Data: map[string]any{"userId": "42", "page": i}}
		if err := c.Enqueue(ctx, ev); err != nil {
			log.Fatal(err)
		}
	}
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Close(closeCtx); err != nil { // flushes, then stops
		log.Printf("not everything was delivered: %v", err)
	}
	log.Printf("%+v", c.Stats())
}
