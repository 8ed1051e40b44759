// Command concorde is the Concorde server and its admin command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/concorde-civic/concorde/core/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{Args: os.Args[1:], LookupEnv: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
