package sink

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// migrations are the schema versions of the team store, applied in
// order: NNNN_name.sql becomes schema version NNNN.
//
//go:embed migrations/*.sql
var migrations embed.FS

// PostgresConfig configures the team store.
type PostgresConfig struct {
	// DSN is a PostgreSQL URL or keyword/value string without a password.
	DSN string
	// Password, when set, is the password (from an environment variable
	// or a file named in config.toml; never from the config itself).
	Password string
	Timeout  time.Duration
}

// Postgres ships records to the team store: one row per (journal ID,
// seq) holding the exact line, inserted idempotently, so a record sent
// twice is stored once; a different line at a stored (journal ID, seq) is
// an ErrConflict.
type Postgres struct {
	cfg *pgx.ConnConfig
	to  time.Duration

	mu   sync.Mutex
	conn *pgx.Conn
}

// NewPostgres checks cfg; it does not connect.
func NewPostgres(cfg PostgresConfig) (*Postgres, error) {
	pc, err := ParseDSN(cfg.DSN, cfg.Password)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	return &Postgres{cfg: pc, to: cfg.Timeout}, nil
}

// ParseDSN parses a DSN for the team store and sets password when given.
// Errors never quote the DSN (it may hold a password).
func ParseDSN(dsn, password string) (*pgx.ConnConfig, error) {
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("the postgres DSN cannot be parsed (it is not shown: it may hold a password)")
	}
	if password != "" {
		pc.Password = password
	}
	return pc, nil
}

// Name implements Sink.
func (p *Postgres) Name() string { return "postgres" }

// connect opens the connection and brings the schema up to date.
func (p *Postgres) connect(ctx context.Context) (*pgx.Conn, error) {
	if p.conn != nil && !p.conn.IsClosed() {
		return p.conn, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.to)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, p.cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", p.cfg.Host, redact(err, p.cfg.Password))
	}
	if err := Migrate(ctx, c); err != nil {
		_ = c.Close(context.Background())
		return nil, err
	}
	p.conn = c
	return c, nil
}

// insertSQL stores one line unless its (journal ID, seq) is stored, and
// returns the hash now stored there.
const insertSQL = `WITH ins AS (
	INSERT INTO journal_entries (journal_id, seq, hash, kind, ts, line)
	VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (journal_id, seq) DO NOTHING
	RETURNING hash)
SELECT hash FROM ins
UNION ALL
SELECT hash FROM journal_entries WHERE journal_id = $1 AND seq = $2 AND NOT EXISTS (SELECT 1 FROM ins)`

// Send implements Sink: the batch is one transaction, so either all of
// it is stored (or was already) or none of it is.
func (p *Postgres) Send(ctx context.Context, recs []Record) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.connect(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.to)
	defer cancel()
	n, err := p.send(ctx, c, recs)
	if err != nil && !errors.Is(err, ErrConflict) {
		_ = c.Close(context.Background())
		p.conn = nil
	}
	return n, err
}

func (p *Postgres) send(ctx context.Context, c *pgx.Conn, recs []Record) (int, error) {
	at, stored, err := p.tryBatch(ctx, c, recs)
	if err != nil || at == len(recs) {
		return at, err
	}
	// Store the lines before the conflict: they are good.
	if at > 0 {
		if n, _, err := p.tryBatch(ctx, c, recs[:at]); err != nil || n != at {
			return 0, fmt.Errorf("postgres: store the lines before a conflict: %w", err)
		}
	}
	r := recs[at]
	return at, fmt.Errorf("%w: the team store holds line hash %.12s… at seq %d of journal %s, this journal has %.12s…: the local journal was rolled back or forked after it was shipped",
		ErrConflict, stored, r.Seq, r.JournalID, r.Hash)
}

// tryBatch stores recs in one transaction and returns len(recs); when a
// stored line differs it rolls back and returns its index and the hash
// stored there.
func (p *Postgres) tryBatch(ctx context.Context, c *pgx.Conn, recs []Record) (int, string, error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("postgres: %w", redact(err, p.cfg.Password))
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	b := &pgx.Batch{}
	for _, r := range recs {
		if r.Seq > math.MaxInt64 {
			return 0, "", fmt.Errorf("seq %d does not fit the store", r.Seq)
		}
		b.Queue(insertSQL, r.JournalID, int64(r.Seq), r.Hash, string(r.Kind), r.TS, r.Line) //nolint:gosec // G115: checked above
	}
	br := tx.SendBatch(ctx, b)
	for i, r := range recs {
		var stored string
		if err := br.QueryRow().Scan(&stored); err != nil {
			_ = br.Close()
			return 0, "", fmt.Errorf("postgres: store seq %d: %w", r.Seq, redact(err, p.cfg.Password))
		}
		if stored != r.Hash {
			_ = br.Close()
			return i, stored, nil
		}
	}
	if err := br.Close(); err != nil {
		return 0, "", fmt.Errorf("postgres: %w", redact(err, p.cfg.Password))
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, "", fmt.Errorf("postgres: commit: %w", redact(err, p.cfg.Password))
	}
	return len(recs), "", nil
}

// Close implements Sink.
func (p *Postgres) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		return nil
	}
	err := p.conn.Close(context.Background())
	p.conn = nil
	return err
}

// Migrate brings the schema of the team store to the newest version in
// migrations/, one transaction per version, under an advisory lock so
// that two approvers starting at once do not race. A store already at
// the newest version is only read (approvers need no DDL rights).
func Migrate(ctx context.Context, c *pgx.Conn) error {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	have, err := schemaVersion(ctx, c)
	if err != nil {
		return err
	}
	if have > len(files) {
		return fmt.Errorf("the team store has schema version %d, newer than this qapprove knows (%d): upgrade qapprove", have, len(files))
	}
	for _, f := range files {
		v, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(f, "migrations/"), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s has no version number", f)
		}
		if v <= have {
			continue
		}
		if err := apply(ctx, c, v, f); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the newest schema version this build knows.
func SchemaVersion() int {
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	return len(files)
}

// schemaVersion is the store's version (0 when it has none yet).
func schemaVersion(ctx context.Context, c *pgx.Conn) (int, error) {
	var v int
	err := c.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v)
	if err == nil {
		return v, nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table: a new store
		return 0, nil
	}
	return 0, fmt.Errorf("postgres: read schema version: %w", err)
}

// apply runs migration file f as version v, unless another process did.
func apply(ctx context.Context, c *pgx.Conn, v int, f string) error {
	sql, err := migrations.ReadFile(f)
	if err != nil {
		return err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	steps := []string{
		`SELECT pg_advisory_xact_lock(4711001)`,
		`CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
	}
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("postgres: migrate to version %d: %w", v, err)
		}
	}
	var done bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_version WHERE version = $1)`, v).Scan(&done); err != nil {
		return fmt.Errorf("postgres: migrate to version %d: %w", v, err)
	}
	if done {
		return nil
	}
	if _, err := tx.Exec(ctx, string(sql)); err != nil {
		return fmt.Errorf("postgres: migrate to version %d (%s): %w", v, f, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, v); err != nil {
		return fmt.Errorf("postgres: migrate to version %d: %w", v, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate to version %d: %w", v, err)
	}
	return nil
}

// redact removes password from an error text and makes it one line
// (pgx lists every address it tried on lines of their own).
func redact(err error, password string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if password != "" && strings.Contains(msg, password) {
		// Drop the original too: nothing can print it by unwrapping.
		return errors.New(strings.Join(strings.Fields(strings.ReplaceAll(msg, password, "***")), " "))
	}
	if !strings.ContainsAny(msg, "\n\t") {
		return err
	}
	return &redacted{msg: strings.Join(strings.Fields(msg), " "), err: err}
}

// redacted is an error made one line; errors.Is still sees the original.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }
