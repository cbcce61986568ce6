package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/utils/clock"

	"github.com/scaled-dev/scaled/pkg/actuators"
	"github.com/scaled-dev/scaled/pkg/config"
	"github.com/scaled-dev/scaled/pkg/engine"
	"github.com/scaled-dev/scaled/pkg/telemetry"
)

// runFlags are the HTTP server's settings that live outside the config file,
// named as every Prometheus exporter names them.
// runFlags are run's flags that are not config keys: they are read once
// at start.
type runFlags struct {
	configFile     string
	probeAddress   string
	maxConnections int
	noDecisions    bool
	pprof          bool
	// memoryLimitRatio is the share of the container's memory limit given
	// to the Go runtime as its soft limit (0: none; memlimit.go).
	memoryLimitRatio float64
}

func (w runFlags) options(live func() error) []telemetry.ServerOption {
	opts := []telemetry.ServerOption{
		telemetry.WithWebConfig(w.configFile),
		telemetry.WithMaxConnections(w.maxConnections),
		telemetry.WithLiveness(live),
	}
	if w.noDecisions {
		opts = append(opts, telemetry.WithoutDecisionsAPI())
	}
	if w.pprof {
		opts = append(opts, telemetry.WithPprof())
	}
	return opts
}

func newRunCommand() *cobra.Command {
	v := viper.New()
	var path string
	var web runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the decision loop for every configured scaler",
		Long: `Run the decision loop. SIGHUP or a change of the config file reloads the config: a valid one is
swapped in atomically (unchanged scalers keep their state), an invalid one is logged and the old
one keeps running. SIGTERM or SIGINT stop cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return runDaemon(ctx, v, path, web)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "scaled.yaml", "config file (YAML)")
	cmd.Flags().StringVar(&web.configFile, "web.config.file", "",
		"Prometheus web configuration file: TLS and basic auth of the HTTP server (exporter-toolkit format)")
	cmd.Flags().StringVar(&web.probeAddress, "web.probe-address", "",
		"also serve /healthz and /readyz, alone and without TLS or auth, on this host:port (for kubelet probes when the web config asks for auth)")
	cmd.Flags().IntVar(&web.maxConnections, "web.max-connections", 0,
		fmt.Sprintf("most HTTP connections open at once (0: %d, or half the file-descriptor limit when lower)", telemetry.DefaultMaxConnections))
	cmd.Flags().BoolVar(&web.noDecisions, "web.disable-decisions-api", false,
		"answer 404 on /api/v1/decisions, which names every query and target")
	cmd.Flags().BoolVar(&web.pprof, "web.enable-pprof", false,
		"serve Go's runtime profiles (heap, goroutines, CPU) under /debug/pprof/, behind the same TLS and auth")
	cmd.Flags().Float64Var(&web.memoryLimitRatio, "auto-gomemlimit.ratio", 0.9,
		"set the Go runtime's soft memory limit to this share of the container's memory limit (cgroup), unless GOMEMLIMIT is set; 0 turns it off")
	config.BindFlags(cmd.Flags(), v)
	return cmd
}

// newLogger builds the daemon's logger; storms samples the changes one
// cause brings to a whole fleet at once.
func newLogger(l config.Log, storms *telemetry.StormSampler) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(l.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	zc := zap.NewProductionConfig()
	// Loggers made per scaler and per target cost a field, not an encoder.
	opts := []zap.Option{zap.WrapCore(telemetry.DeferFields)}
	if l.Format == "console" {
		// For a person at a terminal: one short line per change, no
		// call sites or stack traces.
		zc = zap.NewDevelopmentConfig()
		zc.DisableCaller, zc.DisableStacktrace = true, true
		opts = append(opts, zap.WrapCore(telemetry.ConsoleDecisions))
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.Sampling = nil // one line per change, always, but for storms
	opts = append(opts, zap.WrapCore(storms.Wrap))
	return zc.Build(opts...)
}

// forgetFunc adapts a function to engine.Forgetter.
type forgetFunc func(string)

func (f forgetFunc) ForgetScaler(s string) { f(s) }

// loadConfig reads the config file at path as run does, at start and on
// every reload: a regular file of bounded size (config.ReadFile), then the
// environment and flags bound into v.
func loadConfig(path string, v *viper.Viper) (*config.Config, error) {
	data, err := config.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return config.LoadData(path, data, v)
}

// shutdownTimeout bounds how long run takes to stop once told to: it stops
// its scalers, the HTTP server (at most 5 s) and releases its Leases well
// within it; past it the process exits anyway, before Kubernetes' default
// 30 s grace period ends in a kill.
const shutdownTimeout = 20 * time.Second

func runDaemon(ctx context.Context, v *viper.Viper, path string, web runFlags) error {
	d, err := NewDaemon(path, v, web)
	if err != nil {
		return err
	}
	defer func() { _ = d.logger.Sync() }()
	return d.Run(ctx)
}

// Daemon is scaled run: the scalers of its config file and of Scaler
// objects, their metrics, kept decisions, probes and Leases. NewDaemon
// builds it from the config file and starts nothing; Run serves until its
// context ends, and Reload swaps in a config read again.
type Daemon struct {
	path string
	v    *viper.Viper
	web  runFlags

	// cfg is the config applied: a reload compares its scalers and its
	// restart-only keys with it.
	cfg       *config.Config
	started   *config.Config // the config the process started with
	logger    *zap.Logger
	reg       *prometheus.Registry
	metrics   *telemetry.Metrics
	decisions *telemetry.DecisionLog
	// origin is where the replay of recorded traces started, nil when the
	// signals are live.
	origin  *time.Time
	kube    *kubeDeps
	aws     *awsDeps // the AWS regions the targets share
	objects *scalerObjects
	mgr     *engine.Manager
}

// NewDaemon reads the config file at path (with the environment and flags
// bound into v) and builds what runs it; every error is a usage error
// (exit code 2).
func NewDaemon(path string, v *viper.Viper, web runFlags) (*Daemon, error) {
	cfg, err := loadConfig(path, v)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	d := &Daemon{path: path, v: v, web: web, cfg: cfg, started: cfg}
	storms := telemetry.NewStormSampler(engine.StormMessages...)
	if d.logger, err = newLogger(cfg.Log, storms); err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if web.memoryLimitRatio < 0 || web.memoryLimitRatio > 1 {
		return nil, &exitError{code: 2, err: fmt.Errorf("--auto-gomemlimit.ratio: %v: must be between 0 (off) and 1", web.memoryLimitRatio)}
	}
	setMemoryLimit("/sys/fs/cgroup", web.memoryLimitRatio, d.logger)

	d.reg = prometheus.NewRegistry()
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), storms.Collector())
	d.metrics = telemetry.NewMetrics(d.reg, telemetry.MetricsOptions{
		PerScalerHistograms: cfg.Metrics.PerScalerHistograms,
		PolicySeries:        cfg.Metrics.PolicySeries,
	})
	d.metrics.SetBuildInfo(version, commit)
	d.decisions = telemetry.NewDecisionLog(cfg.DecisionHistory).WithMaxBytes(cfg.DecisionHistoryBytes())

	clk, origin, err := loopClock(cfg)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if d.origin = origin; origin != nil {
		d.logger.Info("replaying recorded traces on a fast clock", zap.Time("from", *origin), zap.Float64("speed", cfg.ReplaySpeed()))
	}
	d.kube = newKubeDeps(d.reg, leaderIdentity(cfg.LeaderElection))
	d.aws = newAWSDeps(clk, actuators.NewAWSMetrics(d.reg))
	d.aws.setLimits(cfg.AWS, cfg.Interval)
	factories := newFactories(d.logger, clk, d.metrics.QueryObserver, withTargetObservers(d.targetObserver), withKube(d.kube),
		withQueryMetrics(d.reg), withAWS(d.aws))
	sinks := decisionSinks{d.decisions}
	d.mgr = engine.NewManager(clk, d.logger, factories, d.metrics, &sinks,
		d.metrics, forgetFunc(d.decisions.Forget), d.kube.metrics)
	registerHistoryMetrics(d.reg, d.mgr.Histories)
	if d.objects, err = newScalerObjects(cfg, d.kube, d.mgr, d.reg, d.logger); err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if s := d.objects.sink(); s != nil {
		sinks = append(sinks, s) // before the first scaler starts, in Run
	}
	return d, nil
}

// targetObserver times a scaler's target and counts its errors, for the
// metrics and, for a Scaler object's, its controller. Targets are built
// from Run on, once objects is set.
func (d *Daemon) targetObserver(scaler string) actuators.TargetObserver {
	return d.objects.targetObserver(scaler, d.metrics.TargetObserver(scaler))
}

// ready is nil once the scalers have ticked and the Scaler objects'
// informer has synced: /readyz.
func (d *Daemon) ready() error {
	if err := d.mgr.Ready(); err != nil {
		return err
	}
	return d.objects.ready()
}

// Run serves until ctx ends: it binds the HTTP server and the probes,
// joins leader election, starts the scalers and the Scaler objects, and
// reloads the config on SIGHUP or a change of its file. It returns once
// everything stopped, or when a server fails.
func (d *Daemon) Run(ctx context.Context) error {
	// The stop's deadline covers every deferred cleanup below, and ends
	// with Run: a daemon that stopped in time leaves no timer behind to end
	// a process that goes on (a test binary, or a caller).
	var deadline *time.Timer
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	// Bind the port before any scaler starts: a daemon that cannot serve
	// its probes and metrics must not act unseen. /readyz says "not ready"
	// until the scalers have ticked, and the Scaler objects' informer has
	// synced.
	srv := telemetry.NewServer(d.cfg.Listen, d.reg, d.decisions, d.ready, d.logger, d.web.options(d.mgr.Live)...)
	if err := srv.Start(); err != nil {
		return &exitError{code: 2, err: err}
	}
	defer shutdown(srv.Shutdown)
	var probeErr <-chan error // nil without a probe listener: never ready
	if d.web.probeAddress != "" {
		probes := telemetry.NewProbeServer(d.web.probeAddress, d.ready, d.mgr.Live, d.logger)
		if err := probes.Start(); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("--web.probe-address: %w", err)}
		}
		probeErr = probes.Err()
		defer shutdown(probes.Shutdown)
	}

	stopLeader, err := startLeaderElection(d.cfg.LeaderElection, d.kube, d.mgr, d.reg, d.logger)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer stopLeader() // after the manager stopped: release the lease last
	defer d.mgr.Stop()
	if err := applyConfig(d.mgr, d.cfg); err != nil {
		return &exitError{code: 2, err: err}
	}
	d.metrics.ConfigReloaded(true, time.Now())
	d.objects.start()
	defer d.objects.stop() // before the manager stops
	d.logger.Info("scaled started", zap.String("version", version), zap.String("listen", srv.Addr()),
		zap.Strings("scalers", d.mgr.Scalers()), zap.Bool("dry_run", d.cfg.DryRun))

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	changed, stopWatch, err := watchFile(d.path, d.logger)
	if err != nil {
		d.logger.Warn("config file is not watched; reload with SIGHUP", zap.Error(err))
	}
	defer stopWatch()

	reads := d.reader()
	for {
		select {
		case <-ctx.Done():
			d.logger.Info("stopping")
			deadline = exitAfter(shutdownTimeout, d.logger)
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			d.objects.stop()
			d.mgr.Stop()
			return srv.Shutdown(sctx)
		case <-hup:
			reads.read("SIGHUP")
		case <-changed:
			reads.read("file changed")
		case l := <-reads.done:
			d.Reload(l.why, l.cfg, l.err)
			reads.finished()
		case err := <-srv.Err():
			return fmt.Errorf("http server: %w", err)
		case err := <-probeErr:
			return fmt.Errorf("probe server: %w", err)
		}
	}
}

// shutdown stops a server, waiting at most 5 s for its requests.
func shutdown(stop func(context.Context) error) {
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = stop(sctx)
}

// Reload makes next, read from the config file for why, the running
// config, unless err says it could not be read or it changes what only a
// restart changes (replay or live sources, scaler_objects.enabled): then
// the config running keeps running and the failure is logged and counted.
// Keys read only at start (listen, log, leader election, metrics) are
// warned about and left as they are.
func (d *Daemon) Reload(why string, next *config.Config, err error) {
	if err == nil {
		if _, _, cerr := loopClock(next); cerr != nil || (d.origin != nil) != (next.ReplaySpeed() != 1) {
			err = errors.Join(cerr, errors.New("switching between replay and live sources needs a restart"))
		}
	}
	if err == nil && next.ScalerObjects.Enabled != d.started.ScalerObjects.Enabled {
		err = errors.New("scaler_objects.enabled changes only on restart")
	}
	if err == nil {
		err = applyConfig(d.mgr, next)
	}
	if err == nil {
		d.objects.setConfig(next)
		d.aws.setLimits(next.AWS, next.Interval)
	}
	d.metrics.ConfigReloaded(err == nil, time.Now())
	if err != nil {
		d.logger.Error("config reload failed; the previous config keeps running", zap.String("trigger", why), zap.Error(err))
		return
	}
	if s := d.started; next.Listen != s.Listen || next.Log != s.Log || next.LeaderElection != s.LeaderElection || next.Metrics != s.Metrics {
		d.logger.Warn("listen address, log, leader election and metrics settings change only on restart")
	}
	reportRemoved(d.logger, d.metrics, removedScalers(d.cfg, next), len(next.Scalers))
	d.cfg = next
	d.logger.Info("config reloaded", zap.String("trigger", why), zap.Strings("scalers", d.mgr.Scalers()))
}

// configReader reads the config file off the daemon's loop, so that
// nothing it reads can keep the loop from a signal; the loop applies what
// it read. A trigger during a read runs one more read after it.
type configReader struct {
	load    func() (*config.Config, error)
	done    chan loadedConfig
	reading bool
	again   string
}

// loadedConfig is one read of the config file: why it was read, and what
// it held or why it could not be read.
type loadedConfig struct {
	why string
	cfg *config.Config
	err error
}

func (d *Daemon) reader() *configReader {
	return &configReader{load: func() (*config.Config, error) { return loadConfig(d.path, d.v) }, done: make(chan loadedConfig, 1)}
}

// read starts a read for why, or queues one when a read is running.
func (r *configReader) read(why string) {
	if r.reading {
		r.again = why
		return
	}
	r.reading = true
	go func() {
		next, err := r.load()
		r.done <- loadedConfig{why, next, err}
	}()
}

// finished is called once what a read brought was applied.
func (r *configReader) finished() {
	r.reading = false
	if r.again != "" {
		why := r.again
		r.again = ""
		r.read(why)
	}
}

// exitAfter ends the process after d, whatever is still running then: a
// stop that hangs must not outlive the grace period that Kubernetes gives
// before a kill (which would skip the logs' last lines too).
func exitAfter(d time.Duration, logger *zap.Logger) *time.Timer {
	return time.AfterFunc(d, func() {
		logger.Error("stopping took too long; exiting", zap.Duration("after", d))
		_ = logger.Sync()
		os.Exit(1)
	})
}

// How long the watcher waits before a reload. A file replaced whole (a
// complete file renamed over the path, as editors do, or a ConfigMap
// volume's ..data link swapped) is read at once, after the burst of events
// one replacement makes. A file written in place may be half written: it is
// read once it has been still for writtenSettle, no event and the same size
// and modification time, so that a writer that pauses mid-file is not read
// as a config that lost its second half.
const (
	replacedQuiet = 50 * time.Millisecond
	writtenSettle = 2 * time.Second
)

// watchFile reports changes of path, once each has settled. It watches the
// directory, so that editors that replace the file and Kubernetes ConfigMap
// volumes (which swap a symlink) are both seen.
func watchFile(path string, logger *zap.Logger) (<-chan struct{}, func(), error) {
	out := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return out, func() {}, err
	}
	dir := filepath.Dir(path)
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return out, func() {}, err
	}
	base := filepath.Base(path)
	done := make(chan struct{})
	go func() {
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		defer timer.Stop()
		var (
			pending, written bool
			seen             fileState
		)
		for {
			select {
			case <-done:
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				name := filepath.Base(ev.Name)
				if name != base && name != "..data" {
					continue
				}
				if name == base && ev.Op&(fsnotify.Write|fsnotify.Chmod) != 0 {
					written = true
				}
				pending = true
				seen = statOf(path)
				if written {
					timer.Reset(writtenSettle)
				} else {
					timer.Reset(replacedQuiet)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				logger.Warn("config watch", zap.Error(err))
			case <-timer.C:
				if !pending {
					continue
				}
				if now := statOf(path); written && now != seen {
					seen = now // changed without an event we saw: wait again
					timer.Reset(writtenSettle)
					continue
				}
				pending, written = false, false
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, func() { close(done); _ = w.Close() }, nil
}

// fileState is what tells that a file changed: its size and modification
// time (zero when it cannot be read).
type fileState struct {
	size int64
	mod  time.Time
}

func statOf(path string) fileState {
	st, err := os.Stat(path)
	if err != nil {
		return fileState{}
	}
	return fileState{st.Size(), st.ModTime()}
}

// loopClock is the real clock, or, when every signal replays a recorded trace,
// a fast clock starting at the earliest trace so that the whole loop (ticks,
// windows, periods) runs in trace time at the configured speed.
func loopClock(cfg *config.Config) (clock.WithDelayedExecution, *time.Time, error) {
	speed := cfg.ReplaySpeed()
	if speed == 1 {
		return clock.RealClock{}, nil, nil
	}
	origin, err := replayOrigin(cfg)
	if err != nil {
		return nil, nil, err
	}
	return engine.NewFastClock(clock.RealClock{}, origin, speed), &origin, nil
}

// applyConfig makes cfg's scalers, resolved, the ones mgr runs.
func applyConfig(mgr *engine.Manager, cfg *config.Config) error {
	r, err := cfg.Resolved()
	if err != nil {
		return err
	}
	return mgr.Apply(r)
}
