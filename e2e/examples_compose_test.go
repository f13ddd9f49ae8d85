package e2e

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeService is a Compose service with what the checks work out about it.
type composeService struct {
	svc   types.ServiceConfig
	where string
	img   *imageInfo
	ports []collectorPort
}

// checkCompose loads every examples/*/compose.yaml with the Compose specification's own
// loader (schema validation, interpolation, consistency checks; no network, an empty
// environment) and checks how otelwait is installed, run and reached.
func checkCompose(ctx context.Context, s exampleSet, images map[string]*imageInfo) (findings, []error) {
	var p problems
	var f findings
	root, err := examplesRoot()
	if err != nil {
		return f, []error{err}
	}
	for _, file := range s.match("examples/*/compose.yaml") {
		dir := path.Dir(file)
		details := types.ConfigDetails{
			WorkingDir:  filepath.Join(root, filepath.FromSlash(dir)),
			ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, filepath.FromSlash(file)), Content: s[file]}},
			Environment: types.Mapping{},
		}
		project, err := loader.LoadWithContext(ctx, details, func(o *loader.Options) {
			o.SetProjectName("otelwait-example", true)
		})
		if err != nil {
			p.addf("%s: %v", file, err)
			continue
		}
		c := composeCheck{p: &p, s: s, root: root, file: file, project: project, images: images}
		f.add(c.check())
	}
	return f, p
}

type composeCheck struct {
	p       *problems
	s       exampleSet
	root    string
	file    string
	project *types.Project
	images  map[string]*imageInfo
}

// composeArgv is what a service runs: entrypoint replaces the image's ENTRYPOINT (and
// drops its CMD), command replaces CMD.
func composeArgv(svc types.ServiceConfig, img *imageInfo) []string {
	ep, cmd := []string(svc.Entrypoint), []string(svc.Command)
	if ep == nil {
		if img == nil {
			return nil
		}
		ep = img.entrypoint
		if cmd == nil {
			cmd = img.cmd
		}
	}
	return append(slices.Clone(ep), cmd...)
}

func (c *composeCheck) check() findings {
	var f findings
	var svcs []*composeService
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range c.project.Services {
			if !yield(n) {
				return
			}
		}
	}) {
		svc := c.project.Services[name]
		cs := &composeService{svc: svc, where: fmt.Sprintf("%s: service %q", c.file, name), img: c.images[imageRepo(svc.Image)]}
		for _, v := range svc.Volumes {
			if err := mountOverImage(svc.Image, cs.img, v.Target); err != nil {
				c.p.addf("%s: %v", cs.where, err)
			}
		}
		if isCollectorImage(svc.Image) {
			cs.ports = c.collector(cs, &f)
		}
		svcs = append(svcs, cs)
	}
	// Where each install service puts otelwait: named volume and path in it.
	installed := map[string]string{}
	for _, cs := range svcs {
		argv := composeArgv(cs.svc, cs.img)
		if len(argv) == 0 || path.Base(argv[0]) != "otelwait" {
			continue
		}
		dir, ok := installDir(argv)
		if !ok {
			continue
		}
		vol, rel, ok := composeMount(cs.svc, dir)
		if !ok || vol.Type != types.VolumeTypeVolume {
			c.p.addf("%s: --install %q is not in a named volume, so no other service sees the copy", cs.where, dir)
			continue
		}
		if path.Clean(vol.Target) == path.Clean(dir) {
			rel = path.Join(rel, "otelwait")
		}
		// A new named volume is created owned by root, mode 0755, unless the image has a
		// directory at the mount point (then Docker copies it, owner included): a
		// non-root user can't write into it.
		user := cs.svc.User
		if user == "" && cs.img != nil {
			user = cs.img.user
		}
		if !isRootUser(user) {
			c.p.addf("%s: runs --install as user %q into the new named volume %q, which Docker creates owned by root (mode 0755): the copy fails with permission denied; set user: \"0:0\" on this one-shot service", cs.where, user, vol.Source)
		}
		installed[vol.Source+":"+rel] = cs.svc.Name
	}
	for _, cs := range svcs {
		// Collectors reachable from this service: its own by localhost, the others by
		// service name when they bind every address.
		var reach []string // nil: no Collector in the project, nothing to check against
		for _, other := range svcs {
			if other.ports != nil {
				if reach == nil {
					reach = []string{} // a Collector, even if none of its ports is reachable from here
				}
				reach = append(reach, reachable(other.ports, other == cs, other.svc.Name)...)
			}
		}
		env := composeEnv(cs.svc)
		if argv := composeArgv(cs.svc, cs.img); len(argv) > 0 && path.Base(argv[0]) == "otelwait" {
			f.lines = append(f.lines, otelwaitLine{file: c.file, where: cs.where, argv: argv, env: env, reach: reach})
			if _, ok := installDir(argv); !ok {
				c.otelwaitFrom(cs, argv[0], installed)
			}
		}
		if hc := cs.svc.HealthCheck; hc != nil && len(hc.Test) > 1 {
			switch {
			case hc.Test[0] == "CMD" && path.Base(hc.Test[1]) == "otelwait":
				where := cs.where + " healthcheck"
				f.lines = append(f.lines, otelwaitLine{file: c.file, where: where, argv: hc.Test[1:], env: env, reach: reach})
				c.otelwaitFrom(cs, hc.Test[1], installed)
			case hc.Test[0] == "CMD-SHELL" && strings.Contains(strings.Join(hc.Test[1:], " "), "otelwait"):
				c.p.addf("%s: healthcheck runs otelwait with CMD-SHELL: the images otelwait is for have no shell; use [\"CMD\", \"/path/to/otelwait\", \"--check\", …]", cs.where)
			}
		}
	}
	return f
}

// composeEnv is a service's environment (variables without a value left out).
func composeEnv(svc types.ServiceConfig) []string {
	var env []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range svc.Environment {
			if !yield(k) {
				return
			}
		}
	}) {
		if v := svc.Environment[k]; v != nil {
			env = append(env, k+"="+*v)
		}
	}
	return env
}

// composeMount finds the volume of a service that holds path p, and p's path in it.
func composeMount(svc types.ServiceConfig, p string) (types.ServiceVolumeConfig, string, bool) {
	var best types.ServiceVolumeConfig
	rel, found := "", false
	for _, v := range svc.Volumes {
		t := path.Clean(v.Target)
		if (p == t || strings.HasPrefix(p, t+"/")) && (!found || len(t) > len(path.Clean(best.Target))) {
			best, found = v, true
			rel = strings.TrimPrefix(strings.TrimPrefix(p, t), "/")
		}
	}
	return best, rel, found
}

// otelwaitFrom checks that the otelwait binary a service runs is there: in a named volume
// an install service filled, which the service waits for, or in its image.
func (c *composeCheck) otelwaitFrom(cs *composeService, bin string, installed map[string]string) {
	if !path.IsAbs(bin) {
		c.p.addf("%s: runs %q through PATH; name the binary by its absolute path", cs.where, bin)
		return
	}
	if vol, rel, ok := composeMount(cs.svc, bin); ok {
		installer := installed[vol.Source+":"+rel]
		switch {
		case vol.Type != types.VolumeTypeVolume || installer == "":
			c.p.addf("%s: runs %q from volume %q, where no service --install's otelwait", cs.where, bin, vol.Source)
		case cs.svc.DependsOn[installer].Condition != types.ServiceConditionCompletedSuccessfully:
			c.p.addf("%s: runs %q, installed by service %q, without depends_on %s: condition: %s", cs.where, bin, installer, installer, types.ServiceConditionCompletedSuccessfully)
		}
		return
	}
	if cs.img == nil || !slices.Contains(cs.img.files, bin) {
		c.p.addf("%s: runs %q, which neither a volume nor its image %s provides", cs.where, bin, cs.svc.Image)
	}
}

// collector finds a Collector service's configuration among the examples, through the
// bind mount that holds its --config file, and returns the ports it listens on.
func (c *composeCheck) collector(cs *composeService, f *findings) []collectorPort {
	file, ok := configFlag(append(slices.Clone([]string(cs.svc.Entrypoint)), cs.svc.Command...))
	if !ok {
		c.p.addf("%s: the Collector has no --config: it would run its image's default configuration", cs.where)
		return nil
	}
	vol, rel, ok := composeMount(cs.svc, file)
	if !ok || vol.Type != types.VolumeTypeBind {
		c.p.addf("%s: --config %q is not in a bind mount of a file of the examples", cs.where, file)
		return nil
	}
	src, err := filepath.Rel(c.root, filepath.Join(vol.Source, rel))
	src = filepath.ToSlash(src)
	data, found := c.s[src]
	if err != nil || !found {
		c.p.addf("%s: --config %q is bind-mounted from %q, which the examples don't have", cs.where, file, src)
		return nil
	}
	f.configs = append(f.configs, collectorConfig{file: src, where: src, yaml: data})
	ls, err := collectorListeners(data)
	if err != nil {
		c.p.addf("%s: %v", src, err)
	}
	return ls
}
