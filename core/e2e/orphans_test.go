package e2e_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/storetest"
)

// A server killed outright (SIGKILL, the OOM killer) cannot stop its plugin processes: they
// must notice their host is gone and exit (sdk.Serve), not linger until the machine restarts.
func TestPlugins_ExitWhenTheirHostIsKilled(t *testing.T) {
	s := start(t, storetest.URL(t, "sqlite"), true)
	req, err := http.NewRequest("GET", s.URL+"/p/culture/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "bretagne.localhost"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the culture plugin's page: %d, want 200", res.StatusCode)
	}
	plugins := childrenOf(t, s.Pid())
	if len(plugins) == 0 {
		t.Fatal("no plugin process under the server after a plugin page was served")
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range plugins {
		for running(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("plugin process %d still runs 10 s after its host was killed", pid)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// childrenOf lists the processes whose parent is pid (Linux /proc).
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, f := range stats {
		if _, ppid, ok := procStat(f); ok && ppid == pid {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			out = append(out, child)
		}
	}
	return out
}

// running says whether pid is a live process (an exited one not reaped yet is a zombie: gone).
func running(pid int) bool {
	state, _, ok := procStat(fmt.Sprintf("/proc/%d/stat", pid))
	return ok && state != "Z"
}

// procStat reads a process's state and parent from /proc/PID/stat; the command name, in
// parentheses, may hold spaces, so the fields are read after its closing parenthesis.
func procStat(path string) (state string, ppid int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return fields[0], ppid, err == nil
}
