// Command loadgen sends participant-like load to a running Concorde server and prints what it
// measured. Example:
//
//	go run ./ops/loadgen/cmd/loadgen -host bretagne.localhost -consultation culture -mode vote -d 20s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/concorde-civic/concorde/ops/loadgen"
)

func main() {
	var cfg loadgen.Config
	flag.StringVar(&cfg.BaseURL, "url", "http://127.0.0.1:8080", "server address")
	flag.StringVar(&cfg.Host, "host", "bretagne.localhost", "tenant host name")
	flag.StringVar(&cfg.Consultation, "consultation", "culture", "consultation slug")
	flag.StringVar(&cfg.Mode, "mode", "vote", "vote, sequence or plain")
	flag.StringVar(&cfg.Path, "path", "/healthz", "path for plain mode")
	flag.IntVar(&cfg.Concurrency, "c", 32, "concurrent participants")
	flag.DurationVar(&cfg.Duration, "d", 10*time.Second, "duration")
	flag.Int64Var(&cfg.MaxRequests, "n", 0, "stop after this many requests (0: duration only)")
	flag.Parse()
	r, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Println(r)
	if r.FirstError != "" {
		fmt.Println("first error:", r.FirstError)
	}
	if r.Errors > 0 {
		os.Exit(1)
	}
}
