package broker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/skiffstream/skiff/raftlog"
	"github.com/skiffstream/skiff/transforms/builtin"
	"github.com/skiffstream/skiff/transforms/chain"
)

// The admin API: HTTP on the metrics listener (default 127.0.0.1:9644, the
// port of Redpanda's admin API, which `rpk transform deploy` uses the same
// way). It carries what the Kafka protocol has no request for: SmartModule
// bytes and topic-to-topic deployments. `skiff smartmodule ...` and `skiff
// transform ...` call it. Errors are JSON {"error": "..."} with a status
// code; bodies are JSON.
//
//	POST   /v1/smartmodules/{name}[?replace=true]   body: the .wasm
//	GET    /v1/smartmodules                          list
//	GET    /v1/smartmodules/{name}                   metadata
//	GET    /v1/smartmodules/{name}/wasm              the bytes
//	DELETE /v1/smartmodules/{name}
//	POST   /v1/transforms                            body: DeployRequest
//	GET    /v1/transforms                            list with status
//	GET    /v1/transforms/{name}                     status
//	POST   /v1/transforms/{name}/pause | /resume
//	GET    /v1/transforms/{name}/logs                the modules' last lines
//	DELETE /v1/transforms/{name}

// AdminHandler serves the admin API under /v1/.
func (b *Broker) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/smartmodules/{name}", b.adminPutModule)
	mux.HandleFunc("GET /v1/smartmodules", b.adminListModules)
	mux.HandleFunc("GET /v1/smartmodules/{name}", b.adminGetModule)
	mux.HandleFunc("GET /v1/smartmodules/{name}/wasm", b.adminGetModuleWasm)
	mux.HandleFunc("DELETE /v1/smartmodules/{name}", b.adminDeleteModule)
	mux.HandleFunc("POST /v1/transforms", b.adminDeploy)
	mux.HandleFunc("GET /v1/transforms", b.adminListTransforms)
	mux.HandleFunc("GET /v1/transforms/{name}", b.adminGetTransform)
	mux.HandleFunc("POST /v1/transforms/{name}/pause", b.adminPause(true))
	mux.HandleFunc("POST /v1/transforms/{name}/resume", b.adminPause(false))
	mux.HandleFunc("GET /v1/transforms/{name}/logs", b.adminTransformLogs)
	mux.HandleFunc("DELETE /v1/transforms/{name}", b.adminDeleteTransform)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.Ready() {
			adminError(w, http.StatusServiceUnavailable, errors.New("the broker is still starting; try again in a moment"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func adminError(w http.ResponseWriter, status int, err error) {
	adminJSON(w, status, map[string]string{"error": err.Error()})
}

// adminStatus maps metadata errors to HTTP statuses.
func adminStatus(err error) int {
	switch {
	case errors.Is(err, raftlog.ErrModuleNotFound), errors.Is(err, raftlog.ErrTransformNotFound):
		return http.StatusNotFound
	case errors.Is(err, raftlog.ErrModuleExists), errors.Is(err, raftlog.ErrTransformExists), errors.Is(err, raftlog.ErrModuleInUse):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (b *Broker) adminPutModule(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := validModuleName(name); err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	wasm, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil {
		adminError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("read module: %w", err))
		return
	}
	kind, err := b.sm.describeModule(r.Context(), name, wasm)
	if err != nil {
		adminError(w, http.StatusBadRequest, fmt.Errorf("SmartModule %s is not usable: %w", name, err))
		return
	}
	meta := raftlog.ModuleMeta{Name: name, SHA256: moduleHash(wasm), Size: len(wasm), Kind: kind}
	if err := b.ctrl.PutModule(meta, wasm, r.URL.Query().Get("replace") == "true"); err != nil {
		if errors.Is(err, raftlog.ErrModuleExists) {
			err = fmt.Errorf("%w: delete it first or replace it (skiff smartmodule create %s --wasm-file F --replace)", err, name)
		}
		adminError(w, adminStatus(err), err)
		return
	}
	b.log.Info("SmartModule stored", "module", name, "bytes", len(wasm), "kind", kind)
	m, _, _ := b.ctrl.Module(name)
	adminJSON(w, http.StatusCreated, m)
}

// validModuleName keeps names usable in a transforms.yml and a URL.
func validModuleName(name string) error {
	if name == "" || len(name) > 128 {
		return errors.New("a SmartModule name has 1 to 128 characters")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/", c)) {
			return fmt.Errorf("SmartModule name %q: use letters, digits and . _ - /", name)
		}
	}
	return nil
}

// adminListModules lists the stored modules and the built-ins that no
// stored module shadows (Builtin set), by name.
func (b *Broker) adminListModules(w http.ResponseWriter, _ *http.Request) {
	meta := b.ctrl.Meta()
	out := make([]*raftlog.ModuleMeta, 0, len(meta.Modules))
	for _, m := range meta.Modules {
		out = append(out, m)
	}
	for _, name := range builtin.Names() {
		if meta.Modules[name] == nil {
			out = append(out, builtinMeta(name))
		}
	}
	slices.SortFunc(out, func(a, b *raftlog.ModuleMeta) int { return strings.Compare(a.Name, b.Name) })
	adminJSON(w, http.StatusOK, out)
}

// builtinMeta describes a built-in module as a stored one is described.
func builtinMeta(name string) *raftlog.ModuleMeta {
	wasm, _ := builtin.Lookup(name)
	sum := sha256.Sum256(wasm)
	return &raftlog.ModuleMeta{Name: name, SHA256: hex.EncodeToString(sum[:]), Size: len(wasm), Kind: builtin.Kind(name), Builtin: true}
}

func (b *Broker) adminGetModule(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	m, _, err := b.ctrl.Module(name)
	if errors.Is(err, raftlog.ErrModuleNotFound) && builtin.Kind(name) != "" {
		adminJSON(w, http.StatusOK, builtinMeta(name))
		return
	}
	if err != nil {
		adminError(w, adminStatus(err), err)
		return
	}
	adminJSON(w, http.StatusOK, m)
}

func (b *Broker) adminGetModuleWasm(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	_, wasm, err := b.ctrl.Module(name)
	if errors.Is(err, raftlog.ErrModuleNotFound) {
		// Built-ins are served too, so `skiff smartmodule test` runs them.
		var ok bool
		if _, wasm, ok = b.sm.builtin(name); ok {
			err = nil
		}
	}
	if err != nil {
		adminError(w, adminStatus(err), err)
		return
	}
	w.Header().Set("Content-Type", "application/wasm")
	w.Write(wasm)
}

func (b *Broker) adminDeleteModule(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	for tname, t := range b.view.Load().byName {
		for _, k := range []string{cfgIngestTransforms, cfgViewTransforms} {
			if spec, err := chain.ParseSpec([]byte(t.meta.Configs[k])); err == nil && t.meta.Configs[k] != "" {
				for _, st := range spec.Steps {
					if st.Uses == name {
						adminError(w, http.StatusConflict, fmt.Errorf("SmartModule %s is used by topic %s (%s): change that first", name, tname, k))
						return
					}
				}
			}
		}
	}
	if err := b.ctrl.DeleteModule(name); err != nil {
		adminError(w, adminStatus(err), err)
		return
	}
	adminJSON(w, http.StatusOK, map[string]string{"deleted": name})
}

// DeployRequest is the body of POST /v1/transforms.
type DeployRequest struct {
	Name    string            `json:"name"`
	Input   string            `json:"input"`
	Outputs []string          `json:"outputs"`
	Module  string            `json:"module,omitempty"` // one step, or:
	Spec    string            `json:"transforms,omitempty"`
	Env     map[string]string `json:"vars,omitempty"`
	From    string            `json:"from_offset,omitempty"`
	Policy  string            `json:"error_policy,omitempty"`
}

func (b *Broker) adminDeploy(w http.ResponseWriter, r *http.Request) {
	var req DeployRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		adminError(w, http.StatusBadRequest, fmt.Errorf("bad request body: %w", err))
		return
	}
	meta, err := b.checkDeploy(r, req)
	if err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	if err := b.ctrl.PutTransform(meta); err != nil {
		adminError(w, adminStatus(err), err)
		return
	}
	b.log.Info("transform deployed", "transform", meta.Name, "input", meta.Input, "outputs", meta.Outputs)
	b.mu.Lock()
	b.deploys.reconcile()
	b.mu.Unlock()
	adminJSON(w, http.StatusCreated, b.deploys.status(&meta))
}

// checkDeploy validates a deployment and builds its chain once, so a bad
// module or bad parameters are reported to the deployer.
func (b *Broker) checkDeploy(r *http.Request, req DeployRequest) (raftlog.TransformMeta, error) {
	meta := raftlog.TransformMeta{Name: req.Name, Input: req.Input, Outputs: req.Outputs, Env: req.Env, FromOffset: req.From, Policy: req.Policy}
	if meta.Policy == "" {
		meta.Policy = "fail"
	}
	if meta.FromOffset == "" {
		meta.FromOffset = "earliest"
	}
	switch {
	case validTopicName(req.Name) != nil:
		return meta, fmt.Errorf("transform name %q: use up to 249 of [a-zA-Z0-9._-]", req.Name)
	case req.Input == "":
		return meta, errors.New("a transform needs an input topic (--input)")
	case len(req.Outputs) == 0:
		return meta, errors.New("a transform needs at least one output topic (--output)")
	case (req.Module == "") == (req.Spec == ""):
		return meta, errors.New("give a module (--module M) or a transforms.yml (--transforms-file F), one of the two")
	}
	if t := b.topic(req.Input); t == nil {
		return meta, fmt.Errorf("input topic %s does not exist: create it first", req.Input)
	} else if t.isView() {
		return meta, fmt.Errorf("input topic %s is a view: deploy on its source %s", req.Input, t.meta.Configs[cfgViewOf])
	}
	for _, o := range req.Outputs {
		t := b.topic(o)
		switch {
		case t == nil:
			return meta, fmt.Errorf("output topic %s does not exist: create it first", o)
		case t.isView():
			return meta, fmt.Errorf("output topic %s is a view and stores nothing", o)
		case o == req.Input:
			return meta, fmt.Errorf("output topic %s is the input: a transform would read its own output forever", o)
		}
	}
	pol, err := chain.ParsePolicy(meta.Policy)
	if err != nil {
		return meta, err
	}
	if pol.Action == chain.DeadLetter && b.topic(pol.Topic) == nil {
		return meta, fmt.Errorf("dead-letter topic %s does not exist: create it first", pol.Topic)
	}
	meta.Spec = req.Spec
	if req.Module != "" {
		meta.Spec = "transforms:\n  - uses: " + req.Module + "\n"
	}
	c, err := b.sm.build(r.Context(), meta.Input, meta.Spec, meta.Policy, meta.Outputs, meta.Env)
	if err != nil {
		return meta, err
	}
	c.Close()
	return meta, nil
}

func (b *Broker) adminListTransforms(w http.ResponseWriter, _ *http.Request) {
	meta := b.ctrl.Meta()
	out := make([]TransformStatus, 0, len(meta.Transforms))
	for _, t := range meta.Transforms {
		out = append(out, b.deploys.status(t))
	}
	slices.SortFunc(out, func(a, b TransformStatus) int { return strings.Compare(a.Name, b.Name) })
	adminJSON(w, http.StatusOK, out)
}

func (b *Broker) adminGetTransform(w http.ResponseWriter, r *http.Request) {
	t := b.ctrl.Meta().Transforms[r.PathValue("name")]
	if t == nil {
		adminError(w, http.StatusNotFound, fmt.Errorf("transform %q: %w", r.PathValue("name"), raftlog.ErrTransformNotFound))
		return
	}
	adminJSON(w, http.StatusOK, b.deploys.status(t))
}

func (b *Broker) adminPause(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if !paused {
			// Resume restarts failed workers too: pause first.
			b.ctrl.PauseTransform(name, true)
			b.mu.Lock()
			b.deploys.reconcile()
			b.mu.Unlock()
		}
		if err := b.ctrl.PauseTransform(name, paused); err != nil {
			adminError(w, adminStatus(err), err)
			return
		}
		b.mu.Lock()
		b.deploys.reconcile()
		b.mu.Unlock()
		adminJSON(w, http.StatusOK, b.deploys.status(b.ctrl.Meta().Transforms[name]))
	}
}

func (b *Broker) adminTransformLogs(w http.ResponseWriter, r *http.Request) {
	t := b.ctrl.Meta().Transforms[r.PathValue("name")]
	if t == nil {
		adminError(w, http.StatusNotFound, fmt.Errorf("transform %q: %w", r.PathValue("name"), raftlog.ErrTransformNotFound))
		return
	}
	var modules []string
	if spec, err := chain.ParseSpec([]byte(t.Spec)); err == nil {
		for _, st := range spec.Steps {
			modules = append(modules, st.Uses)
		}
	}
	lines := b.sm.logs.get(modules...)
	slices.SortStableFunc(lines, func(a, b LogLine) int { return a.Time.Compare(b.Time) })
	adminJSON(w, http.StatusOK, lines)
}

func (b *Broker) adminDeleteTransform(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := b.ctrl.DeleteTransform(name); err != nil {
		adminError(w, adminStatus(err), err)
		return
	}
	b.mu.Lock()
	b.deploys.reconcile()
	b.mu.Unlock()
	if f := b.groups.store.DeleteGroup(progressGroup(name)); f.Wait() != nil {
		b.log.Warn("transform progress not deleted", "transform", name)
	}
	adminJSON(w, http.StatusOK, map[string]string{"deleted": name})
}
