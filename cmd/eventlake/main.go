// Command eventlake turns vendor event-export files into a queryable,
// Hive-partitioned Parquet lake, and opens a SQL shell on it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	_ "github.com/eventlake/eventlake/bucketstore"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/internal/hugepages"
	"github.com/eventlake/eventlake/internal/native"
	_ "github.com/eventlake/eventlake/internal/runtimesetup" // GC and GOMAXPROCS, set before the dependencies initialise
	"github.com/eventlake/eventlake/internal/termtext"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	_ "github.com/eventlake/eventlake/loader/source/gcs"
	_ "github.com/eventlake/eventlake/loader/source/local"
	_ "github.com/eventlake/eventlake/loader/source/s3"
	_ "github.com/eventlake/eventlake/loader/source/sftp"
	"github.com/eventlake/eventlake/sql/ddl"
)

// Exit codes (the CLI contract).
const (
	exitOK      = 0
	exitFailed  = 1 // an object failed or was quarantined whole, or the command failed
	exitUsage   = 2
	exitSignals = 130
)

// version is set by the linker (-X main.version=…).
var version = "dev"

// usageError marks errors in how the command was called (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// streams are the command's standard streams, replaceable in tests.
type streams struct {
	in     io.Reader
	out    io.Writer
	errOut io.Writer
}

func (s streams) isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// logger writes structured logs to stderr: text on a terminal, JSON otherwise.
func (s streams) logger(verbose bool) *slog.Logger {
	lvl := slog.LevelWarn
	if verbose {
		lvl = slog.LevelInfo
	}
	if os.Getenv("EVENTLAKE_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if s.isTerminal(s.errOut) {
		return slog.New(slog.NewTextHandler(s.errOut, opts))
	}
	return slog.New(slog.NewJSONHandler(s.errOut, opts))
}

func newRootCmd(io streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "eventlake",
		Short:         "Load vendor event-export files into a Parquet lake and query it with SQL",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	// The memory line is computed only when the version is printed: it
	// measures the cost of a page fault (internal/hugepages).
	cobra.AddTemplateFunc("memoryLine", memoryLine)
	root.SetVersionTemplate("eventlake {{.Version}}\n" + codecsLine() + "\n{{memoryLine}}\n")
	root.SetIn(io.in)
	root.SetOut(io.out)
	root.SetErr(io.errOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	// -v is --verbose on every command (as in most tools); --version has
	// no shorthand.
	root.Flags().Bool("version", false, "print the version and the codecs in use")
	root.PersistentFlags().BoolP("verbose", "v", false, "log more: every object decision (load, watch), every partition (compact)")
	root.AddCommand(
		newLoadCmd(io),
		newStatusCmd(io),
		newCompactCmd(io),
		newExpireCmd(io),
		newDDLCmd(io),
		newSQLCmd(io),
		newWatchCmd(io),
		newCheckCmd(io),
		newRepairCmd(io),
		newCatalogCmd(io),
		newReprocessCmd(io),
		newForgetCmd(io),
		newIcebergCmd(io),
	)
	completeFlagValues(root)
	return root
}

// flagValues are the values offered by `eventlake completion` for flags
// that take one of a fixed set, on every command that has the flag.
var flagValues = map[string][]string{
	"engine":    ddl.Engines,
	"profile":   {"auto", "pismo", "fulfillmenttools", "generic", "jwo-orders"},
	"format":    {"table", "csv", "json", "jsonlines", "line", "list", "tabs", "markdown", "parquet"},
	"on-change": {"reload", "skip"},
	"status":    {"committed", "quarantined", "duplicate", "failed"},
	"fail-on":   failOnValues,
}

// commaFlags take a comma-separated list of their values.
var commaFlags = map[string]bool{"fail-on": true}

func completeFlagValues(c *cobra.Command) {
	for name, values := range flagValues {
		if c.LocalNonPersistentFlags().Lookup(name) == nil {
			continue
		}
		comma := commaFlags[name]
		_ = c.RegisterFlagCompletionFunc(name, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			prefix := ""
			if i := strings.LastIndexByte(toComplete, ','); comma && i >= 0 {
				prefix = toComplete[:i+1]
			}
			out := make([]string, 0, len(values))
			for _, v := range values {
				out = append(out, prefix+v)
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		})
	}
	for _, sub := range c.Commands() {
		completeFlagValues(sub)
	}
}

// execute runs the CLI and returns the process exit code.
func execute(ctx context.Context, args []string, io streams) int {
	root := newRootCmd(io)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue) || isCobraUsage(err):
		path := "eventlake"
		if cmd != nil && !strings.HasPrefix(err.Error(), "unknown command") {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(io.errOut, "eventlake: %s\nRun '%s --help' for usage.\n", termtext.Lines(err.Error()), path)
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(io.errOut, "eventlake: interrupted")
		return exitSignals
	default:
		fmt.Fprintf(io.errOut, "eventlake: %s\n", termtext.Lines(err.Error()))
		return exitFailed
	}
}

// isCobraUsage recognises cobra's own argument errors (unknown command,
// wrong argument count), which are usage errors too.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument"} {
		if len(msg) >= len(p) && contains(msg, p) {
			return true
		}
	}
	return false
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func main() {
	// EVENTLAKE_CPUPROFILE=FILE writes a pprof CPU profile of the run (see
	// README, "Where the time goes").
	profiling := false
	if path := os.Getenv("EVENTLAKE_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			profiling = pprof.StartCPUProfile(f) == nil
		}
	}
	// EVENTLAKE_TRACE=FILE writes an execution trace (go tool trace FILE):
	// where the workers wait.
	tracing := false
	if path := os.Getenv("EVENTLAKE_TRACE"); path != "" {
		if f, err := os.Create(path); err == nil {
			tracing = trace.Start(f) == nil
		}
	}
	if os.Getenv("EVENTLAKE_MEMPROFILE") != "" {
		runtime.MemProfileRate = 64 << 10
	}
	code := run()
	if profiling {
		pprof.StopCPUProfile()
	}
	if tracing {
		trace.Stop()
	}
	// EVENTLAKE_MEMPROFILE=FILE writes the allocation profile of the run.
	if path := os.Getenv("EVENTLAKE_MEMPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			runtime.GC() // the profile is as of the last collection: without one it misses what came after
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, os.Args[1:], streams{in: os.Stdin, out: os.Stdout, errOut: os.Stderr})
}

// codecsLine says which codecs a load uses: the system's libdeflate and
// libzstd when they could be loaded (see internal/native), else pure Go.
func codecsLine() string {
	st := native.Loaded()
	gz, zs := st.Gzip, st.Zstd
	if gz == "" {
		gz = "pure Go (klauspost/compress; install libdeflate0 for a faster one)"
	}
	if zs == "" {
		zs = "pure Go (klauspost/compress; install libzstd1 for a faster one)"
	}
	return "gzip inflater: " + gz + "\nzstd encoder:  " + zs
}

// memoryLine says how a load maps its memory — its whole-object buffers and
// its heap — in huge pages or small ones, and why (see internal/hugepages).
func memoryLine() string {
	return "memory:        " + hugepages.Get().String()
}

// folderLake resolves the lake folder and the catalog path of a command
// that works on a folder lake (--lake, --catalog, or the config file's lake
// and catalog) whose catalog must exist.
func folderLake(command, lake, catalogPath, configPath string) (string, string, error) {
	cfg := &config.Config{}
	if configPath != "" {
		var err error
		if cfg, err = config.Load(configPath); err != nil {
			return "", "", usageError{err}
		}
	}
	lake = first(lake, cfg.Lake)
	if lake == "" {
		return "", "", usagef("no lake: give --lake DIR")
	}
	if err := folderOnly(command, lake); err != nil {
		return "", "", err
	}
	path := first(first(catalogPath, cfg.Catalog), loader.CatalogPath(lake))
	if _, err := os.Stat(path); err != nil {
		return "", "", fmt.Errorf("no catalog at %s: nothing has been loaded into this lake yet (eventlake catalog rebuild rebuilds a lost one)", path)
	}
	return lake, path, nil
}

// folderOnly refuses a lake in a bucket for a command that works only on a
// lake in a folder (yet), and an unknown scheme.
func folderOnly(command, lake string) error {
	loc, err := parseLake(lake)
	if err != nil {
		return err
	}
	if loc.IsBucket() {
		return usagef("%s: a lake in a bucket (%s) is not supported yet", command, lake)
	}
	return nil
}

// parseLake parses a --lake value (a folder, s3:// or gs://); an unknown
// scheme is a usage error.
func parseLake(s string) (lk.Location, error) {
	loc, err := lk.ParseLocation(s)
	if err != nil {
		return loc, usageError{err}
	}
	return loc, nil
}
