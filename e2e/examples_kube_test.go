package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// otelCollectorCR is the part of the OpenTelemetry Operator's OpenTelemetryCollector
// (opentelemetry.io/v1beta1) that the examples use. The operator's own CRD schema is NOT
// checked here (its Go module drags in controller-runtime and the whole operator): strict
// decoding into this struct rejects every field it doesn't list, so a field added to an
// example must be added here after checking it against the operator's API.
type otelCollectorCR struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		// Mode is required: daemonset, deployment, sidecar or statefulset.
		Mode string `json:"mode"`
		// Config is required; in v1beta1 an object (v1alpha1 had a string).
		Config map[string]any `json:"config"`
	} `json:"spec"`
}

// instrumentationCR is the part of the operator's Instrumentation (opentelemetry.io/v1alpha1)
// that the examples use; as above, not the operator's CRD schema.
type instrumentationCR struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Exporter struct {
			// Endpoint is where the injected agents export: required here, since otelwait's
			// auto mode waits there.
			Endpoint string `json:"endpoint"`
		} `json:"exporter"`
		Propagators []string `json:"propagators,omitempty"`
	} `json:"spec"`
}

// kubeKinds maps "apiVersion kind" to a new value of the type a document decodes into.
var kubeKinds = map[string]func() any{
	"apps/v1 Deployment": func() any { return &appsv1.Deployment{} },
	"v1 ConfigMap":       func() any { return &corev1.ConfigMap{} },
	"opentelemetry.io/v1beta1 OpenTelemetryCollector": func() any { return &otelCollectorCR{} },
	"opentelemetry.io/v1alpha1 Instrumentation":       func() any { return &instrumentationCR{} },
}

var (
	collectorModes = []string{"daemonset", "deployment", "sidecar", "statefulset"}
	// The operator's Propagator enum.
	propagators = []string{"tracecontext", "baggage", "b3", "b3multi", "jaeger", "xray", "ottrace", "none"}
)

// kubeDoc is one decoded document of a manifest.
type kubeDoc struct {
	file  string
	where string // file and kind/name, for messages
	obj   any
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// decodeManifest splits a multi-document manifest on --- lines and decodes each document
// strictly into its kind's type: unknown fields (in any letter case), duplicate keys and
// values of the wrong type are problems.
func decodeManifest(p *problems, file string, data []byte) []kubeDoc {
	var docs []kubeDoc
	for i, doc := range docSeparator.Split(string(data), -1) {
		j, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			p.addf("%s: document %d: %v", file, i+1, err)
			continue
		}
		if string(j) == "null" {
			continue // only comments
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(j, &tm); err != nil {
			p.addf("%s: document %d: %v", file, i+1, err)
			continue
		}
		newObj, ok := kubeKinds[tm.APIVersion+" "+tm.Kind]
		if !ok {
			p.addf("%s: document %d: apiVersion %q kind %q is not a kind these checks know: add it to kubeKinds", file, i+1, tm.APIVersion, tm.Kind)
			continue
		}
		obj := newObj()
		strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
		if err != nil {
			p.addf("%s: document %d (%s): %v", file, i+1, tm.Kind, err)
			continue
		}
		for _, e := range strict {
			p.addf("%s: document %d (%s): %v", file, i+1, tm.Kind, e)
		}
		name := obj.(metav1.Object).GetName()
		if name == "" {
			p.addf("%s: document %d (%s): no metadata.name", file, i+1, tm.Kind)
		}
		docs = append(docs, kubeDoc{file: file, where: fmt.Sprintf("%s: %s %s", file, tm.Kind, name), obj: obj})
	}
	return docs
}

// kubeObjects returns every document of kind T.
func kubeObjects[T any](docs []kubeDoc) []T {
	var out []T
	for _, d := range docs {
		if o, ok := d.obj.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

// checkKubernetes decodes every manifest in examples/kubernetes and checks what a
// reviewer would: the pods are valid and their parts fit together, and each Collector
// gets a configuration that the examples hold.
func checkKubernetes(s exampleSet, images map[string]*imageInfo) (findings, []error) {
	var p problems
	var docs []kubeDoc
	for _, file := range s.match("examples/kubernetes/*.yaml") {
		docs = append(docs, decodeManifest(&p, file, s[file])...)
	}
	k := kubeCheck{p: &p, docs: docs, images: images, configs: map[string]collectorConfig{}}
	for _, d := range docs {
		switch o := d.obj.(type) {
		case *otelCollectorCR:
			k.checkCollectorCR(d, o)
		case *instrumentationCR:
			k.checkInstrumentation(d, o)
		case *appsv1.Deployment:
			k.checkDeployment(d, o)
		}
	}
	// ConfigMap entries that are Collector configurations are validated even when no
	// container of the examples mounts them.
	for _, d := range docs {
		cm, ok := d.obj.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		for key, v := range cm.Data {
			var top map[string]any
			if yaml.Unmarshal([]byte(v), &top) == nil && top["service"] != nil && top["receivers"] != nil {
				k.addConfig(d, cm, key)
			}
		}
	}
	for _, file := range s.match("examples/kubernetes/*native-sidecar*.yaml") {
		if !k.nativeSidecar[file] {
			p.addf("%s: no initContainer runs the Collector with restartPolicy: Always (a native sidecar)", file)
		}
	}
	f := k.found
	for _, c := range k.configs {
		f.configs = append(f.configs, c)
	}
	slices.SortFunc(f.configs, func(a, b collectorConfig) int { return strings.Compare(a.where, b.where) })
	return f, p
}

type kubeCheck struct {
	p       *problems
	docs    []kubeDoc
	images  map[string]*imageInfo
	found   findings
	configs map[string]collectorConfig // by where
	// nativeSidecar records the files with a Collector as a restartable initContainer.
	nativeSidecar map[string]bool
}

func (k *kubeCheck) checkCollectorCR(d kubeDoc, o *otelCollectorCR) {
	if !slices.Contains(collectorModes, o.Spec.Mode) {
		k.p.addf("%s: spec.mode %q, want one of %q", d.where, o.Spec.Mode, collectorModes)
	}
	if o.Spec.Config == nil {
		k.p.addf("%s: spec.config is required", d.where)
		return
	}
	b, err := yaml.Marshal(o.Spec.Config)
	if err != nil {
		k.p.addf("%s: spec.config: %v", d.where, err)
		return
	}
	k.configs[d.where] = collectorConfig{file: d.file, where: d.where + " spec.config", yaml: b}
}

func (k *kubeCheck) checkInstrumentation(d kubeDoc, o *instrumentationCR) {
	if o.Spec.Exporter.Endpoint == "" {
		k.p.addf("%s: spec.exporter.endpoint is required", d.where)
	} else if u, err := url.Parse(o.Spec.Exporter.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		k.p.addf("%s: spec.exporter.endpoint %q is not an http(s)://HOST:PORT URL", d.where, o.Spec.Exporter.Endpoint)
	}
	for _, pr := range o.Spec.Propagators {
		if !slices.Contains(propagators, pr) {
			k.p.addf("%s: spec.propagators: %q is not one of %q", d.where, pr, propagators)
		}
	}
}

// byName finds the document of kind T named name; "true" (as in the operator's inject
// annotations) picks the only one.
func byName[T metav1.Object](docs []kubeDoc, name string) (T, bool) {
	var zero T
	objs := kubeObjects[T](docs)
	if name == "true" && len(objs) == 1 {
		return objs[0], true
	}
	for _, o := range objs {
		if o.GetName() == name {
			return o, true
		}
	}
	return zero, false
}

// kubeContainer is a container of a pod with what the checks work out about it.
type kubeContainer struct {
	c     *corev1.Container
	init  bool
	where string
	img   *imageInfo // nil for an image the examples don't build
	argv  []string   // what it runs, as far as known
	env   []string
	ports []collectorPort // a Collector's ports
}

func (k *kubeCheck) checkDeployment(d kubeDoc, dep *appsv1.Deployment) {
	where := d.where
	tpl := dep.Spec.Template
	if dep.Spec.Selector == nil || len(dep.Spec.Selector.MatchLabels)+len(dep.Spec.Selector.MatchExpressions) == 0 {
		k.p.addf("%s: spec.selector is required", where)
	} else {
		for key, v := range dep.Spec.Selector.MatchLabels {
			if tpl.Labels[key] != v {
				k.p.addf("%s: spec.selector matches %s=%s, which the pod template's labels don't have", where, key, v)
			}
		}
	}
	ps := &tpl.Spec
	volumes := map[string]*corev1.Volume{}
	for i := range ps.Volumes {
		v := &ps.Volumes[i]
		if volumes[v.Name] != nil {
			k.p.addf("%s: volume %q is declared twice", where, v.Name)
		}
		volumes[v.Name] = v
	}
	var cs []*kubeContainer
	names := map[string]bool{}
	for i := range ps.InitContainers {
		cs = append(cs, &kubeContainer{c: &ps.InitContainers[i], init: true})
	}
	for i := range ps.Containers {
		cs = append(cs, &kubeContainer{c: &ps.Containers[i]})
	}
	if len(ps.Containers) == 0 {
		k.p.addf("%s: the pod has no containers", where)
	}
	// The operator's webhook changes the pod: simulate what otelwait reads of it.
	sidecarListeners := k.operatorSidecar(where, tpl.Annotations)
	injected := k.operatorInstrumentation(where, tpl.Annotations, ps)
	for _, c := range cs {
		kind := "container"
		if c.init {
			kind = "initContainer"
		}
		c.where = fmt.Sprintf("%s: %s %q", where, kind, c.c.Name)
		if names[c.c.Name] {
			k.p.addf("%s: container name %q is used twice (initContainers and containers share one namespace)", where, c.c.Name)
		}
		names[c.c.Name] = true
		if c.c.Image == "" {
			k.p.addf("%s: no image", c.where)
		}
		c.img = k.images[imageRepo(c.c.Image)]
		c.argv = kubeArgv(c.c, c.img)
		for _, e := range c.c.Env {
			if e.ValueFrom == nil {
				c.env = append(c.env, e.Name+"="+e.Value)
			}
		}
		c.env = append(c.env, injected[c.c.Name]...)
		mounts := map[string]bool{}
		for _, m := range c.c.VolumeMounts {
			if volumes[m.Name] == nil {
				k.p.addf("%s: volumeMount %q names no volume of the pod", c.where, m.Name)
			}
			if mounts[m.MountPath] {
				k.p.addf("%s: two volumes mounted at %q", c.where, m.MountPath)
			}
			mounts[m.MountPath] = true
			k.checkMountOverImage(c.where, c.c.Image, c.img, m.MountPath)
		}
		restartable := c.c.RestartPolicy != nil && *c.c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		switch {
		case c.init && c.c.RestartPolicy != nil && !restartable:
			k.p.addf("%s: restartPolicy %q: an initContainer takes only Always (a native sidecar)", c.where, *c.c.RestartPolicy)
		case c.init && !restartable && (c.c.StartupProbe != nil || c.c.ReadinessProbe != nil || c.c.LivenessProbe != nil):
			k.p.addf("%s: probes on an initContainer need restartPolicy: Always", c.where)
		case !c.init && c.c.RestartPolicy != nil:
			k.p.addf("%s: restartPolicy on a regular container: only initContainers (native sidecars) take it", c.where)
		}
		if isCollectorImage(c.c.Image) {
			if c.init && !restartable {
				k.p.addf("%s: the Collector runs as an initContainer without restartPolicy: Always: it never exits, so the pod never starts", c.where)
			}
			if c.init && restartable {
				if k.nativeSidecar == nil {
					k.nativeSidecar = map[string]bool{}
				}
				k.nativeSidecar[d.file] = true
			}
			c.ports = k.collectorInPod(c, volumes)
		}
	}
	k.checkOtelwaitInPod(where, cs, volumes, d.file, sidecarListeners)
}

// kubeArgv is what a container runs: command replaces the image's ENTRYPOINT (and its
// CMD), args replaces CMD.
func kubeArgv(c *corev1.Container, img *imageInfo) []string {
	if len(c.Command) > 0 {
		return append(slices.Clone(c.Command), c.Args...)
	}
	if img == nil || img.entrypoint == nil {
		return nil
	}
	args := c.Args
	if len(args) == 0 {
		args = img.cmd
	}
	return append(slices.Clone(img.entrypoint), args...)
}

// checkMountOverImage: a volume mounted on a file of the image fails the container's
// start ("not a directory"), and one mounted on a directory hides what the image has there.
func (k *kubeCheck) checkMountOverImage(where, image string, img *imageInfo, mountPath string) {
	if err := mountOverImage(image, img, mountPath); err != nil {
		k.p.addf("%s: %v", where, err)
	}
}

func mountOverImage(image string, img *imageInfo, mountPath string) error {
	if img == nil {
		return nil
	}
	mp := path.Clean(mountPath)
	for _, f := range img.files {
		switch {
		case f == mp:
			return fmt.Errorf("mounts a volume at %q, where image %s has a file (%s copies it there): the runtime can't mount a directory on a file and the container never starts; mount the volume elsewhere", mountPath, image, img.dockerfile)
		case strings.HasPrefix(f, mp+"/"):
			return fmt.Errorf("mounts a volume at %q, which hides image %s's %q (from %s)", mountPath, image, f, img.dockerfile)
		}
	}
	return nil
}

// isCollectorImage reports whether image is one of the Collector's distributions.
func isCollectorImage(image string) bool {
	return strings.HasPrefix(path.Base(imageRepo(image)), "opentelemetry-collector")
}

// configFlag returns the value of --config in argv, without a file: prefix.
func configFlag(argv []string) (string, bool) {
	for i, a := range argv {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return strings.TrimPrefix(v, "file:"), true
		}
		if a == "--config" && i+1 < len(argv) {
			return strings.TrimPrefix(argv[i+1], "file:"), true
		}
	}
	return "", false
}

// resolveMount finds the volume holding path p in a container: the volume's name and
// p's path inside the volume.
func resolveMount(mounts []corev1.VolumeMount, p string) (name, rel string, ok bool) {
	best := -1
	for _, m := range mounts {
		mp := path.Clean(m.MountPath)
		if (p == mp || strings.HasPrefix(p, mp+"/")) && len(mp) > best {
			best = len(mp)
			name = m.Name
			rel = path.Join(m.SubPath, strings.TrimPrefix(strings.TrimPrefix(p, mp), "/"))
		}
	}
	return name, rel, best >= 0
}

// collectorInPod finds a Collector container's configuration in the ConfigMap it mounts
// and returns the ports it listens on.
func (k *kubeCheck) collectorInPod(c *kubeContainer, volumes map[string]*corev1.Volume) []collectorPort {
	argv := append(slices.Clone(c.c.Command), c.c.Args...)
	file, ok := configFlag(argv)
	if !ok {
		k.p.addf("%s: the Collector has no --config: it would run its image's default configuration", c.where)
		return nil
	}
	vol, rel, ok := resolveMount(c.c.VolumeMounts, file)
	if !ok || volumes[vol] == nil || volumes[vol].ConfigMap == nil {
		k.p.addf("%s: --config %q is not in a mounted ConfigMap", c.where, file)
		return nil
	}
	src := volumes[vol].ConfigMap
	key := rel
	if len(src.Items) > 0 {
		key = ""
		for _, it := range src.Items {
			if it.Path == rel {
				key = it.Key
			}
		}
	}
	cm, found := byName[*corev1.ConfigMap](k.docs, src.Name)
	if !found {
		k.p.addf("%s: --config %q: the examples have no ConfigMap %q", c.where, file, src.Name)
		return nil
	}
	data, found := cm.Data[key]
	if key == "" || !found {
		k.p.addf("%s: --config %q: ConfigMap %q has no key %q", c.where, file, src.Name, rel)
		return nil
	}
	for _, d := range k.docs {
		if d.obj == cm {
			k.addConfig(d, cm, key)
		}
	}
	ls, err := collectorListeners([]byte(data))
	if err != nil {
		k.p.addf("%s: ConfigMap %q key %q: %v", c.where, src.Name, key, err)
	}
	return ls
}

func (k *kubeCheck) addConfig(d kubeDoc, cm *corev1.ConfigMap, key string) {
	where := fmt.Sprintf("%s data[%s]", d.where, key)
	k.configs[where] = collectorConfig{file: d.file, where: where, yaml: []byte(cm.Data[key])}
}

// operatorSidecar returns the ports of the Collector the operator injects as a sidecar
// (annotation sidecar.opentelemetry.io/inject), or nil.
func (k *kubeCheck) operatorSidecar(where string, ann map[string]string) []collectorPort {
	name, ok := ann["sidecar.opentelemetry.io/inject"]
	if !ok || name == "false" {
		return nil
	}
	cr, found := byName[*otelCollectorCR](k.docs, name)
	if !found {
		k.p.addf("%s: sidecar.opentelemetry.io/inject: %q, but the examples have no OpenTelemetryCollector %q", where, name, name)
		return nil
	}
	if cr.Spec.Mode != "sidecar" {
		k.p.addf("%s: sidecar.opentelemetry.io/inject: %q names an OpenTelemetryCollector in mode %q, not sidecar", where, name, cr.Spec.Mode)
		return nil
	}
	b, _ := yaml.Marshal(cr.Spec.Config)
	ls, _ := collectorListeners(b) // its own check reports a bad config
	return ls
}

// operatorInstrumentation returns, per container name, the environment the operator
// injects for the Java agent (annotation instrumentation.opentelemetry.io/inject-java):
// only what otelwait's auto mode reads, JAVA_TOOL_OPTIONS with the agent and
// OTEL_EXPORTER_OTLP_ENDPOINT from the Instrumentation. As the operator does, a variable
// the container sets itself is kept and the first container is the one instrumented
// unless instrumentation.opentelemetry.io/container-names says otherwise.
func (k *kubeCheck) operatorInstrumentation(where string, ann map[string]string, ps *corev1.PodSpec) map[string][]string {
	name, ok := ann["instrumentation.opentelemetry.io/inject-java"]
	if !ok || name == "false" || len(ps.Containers) == 0 {
		return nil
	}
	inst, found := byName[*instrumentationCR](k.docs, name)
	if !found {
		k.p.addf("%s: instrumentation.opentelemetry.io/inject-java: %q, but the examples have no Instrumentation %q", where, name, name)
		return nil
	}
	targets := []string{ps.Containers[0].Name}
	if v := ann["instrumentation.opentelemetry.io/container-names"]; v != "" {
		targets = strings.Split(v, ",")
	}
	out := map[string][]string{}
	for _, c := range ps.Containers {
		if !slices.Contains(targets, c.Name) {
			continue
		}
		set := map[string]string{}
		for _, e := range c.Env {
			set[e.Name] = e.Value
		}
		out[c.Name] = append(out[c.Name], "JAVA_TOOL_OPTIONS="+set["JAVA_TOOL_OPTIONS"]+" -javaagent:/otel-auto-instrumentation-java/javaagent.jar")
		if _, ok := set["OTEL_EXPORTER_OTLP_ENDPOINT"]; !ok && inst.Spec.Exporter.Endpoint != "" {
			out[c.Name] = append(out[c.Name], "OTEL_EXPORTER_OTLP_ENDPOINT="+inst.Spec.Exporter.Endpoint)
		}
	}
	return out
}

// checkOtelwaitInPod finds the otelwait lines of a pod and checks that the binary each
// runs is there: installed by an initContainer into a shared volume, or in the image.
func (k *kubeCheck) checkOtelwaitInPod(where string, cs []*kubeContainer, volumes map[string]*corev1.Volume, file string, sidecar []collectorPort) {
	// Reachable Collector ports: every container of a pod shares its network namespace.
	var reach []string
	for _, c := range cs {
		reach = append(reach, reachable(c.ports, true, "")...)
	}
	reach = append(reach, reachable(sidecar, true, "")...)
	installed := map[string]string{} // volume/path → the initContainer that installs it
	var lines []*kubeContainer
	for _, c := range cs {
		if len(c.argv) == 0 || path.Base(c.argv[0]) != "otelwait" {
			continue
		}
		lines = append(lines, c)
		dir, ok := installDir(c.argv)
		if !ok {
			continue
		}
		if !c.init || (c.c.RestartPolicy != nil) {
			k.p.addf("%s: --install runs in a container that doesn't finish before the app starts: use a plain initContainer", c.where)
		}
		vol, rel, ok := resolveMount(c.c.VolumeMounts, dir)
		if !ok {
			k.p.addf("%s: --install %q is not in a mounted volume: the copy is lost with the container", c.where, dir)
			continue
		}
		if isMountPoint(c.c.VolumeMounts, dir) {
			rel = path.Join(rel, "otelwait") // --install DIR copies into DIR
		}
		if v := volumes[vol]; v != nil && v.EmptyDir == nil {
			k.p.addf("%s: --install into volume %q, which is not an emptyDir", c.where, vol)
		}
		installed[vol+":"+rel] = c.c.Name
	}
	for _, c := range lines {
		reachOf := reach
		if len(reach) == 0 {
			reachOf = nil // no Collector in this pod: targets aren't checked against one
		}
		k.found.lines = append(k.found.lines, otelwaitLine{file: file, where: c.where, argv: c.argv, env: c.env, reach: reachOf})
		if _, ok := installDir(c.argv); ok {
			continue
		}
		bin := c.argv[0]
		if !path.IsAbs(bin) {
			k.p.addf("%s: runs %q through PATH; name the installed binary by its absolute path", c.where, bin)
			continue
		}
		if vol, rel, ok := resolveMount(c.c.VolumeMounts, bin); ok {
			if installed[vol+":"+rel] == "" {
				k.p.addf("%s: runs %q from volume %q, where no initContainer --install's otelwait (installed: %v)", c.where, bin, vol, sortedKeys(installed))
			}
			continue
		}
		if c.img == nil || !slices.Contains(c.img.files, bin) {
			k.p.addf("%s: runs %q, which neither a volume nor its image %s provides", c.where, bin, c.c.Image)
		}
	}
}

func isMountPoint(mounts []corev1.VolumeMount, p string) bool {
	return slices.ContainsFunc(mounts, func(m corev1.VolumeMount) bool { return path.Clean(m.MountPath) == path.Clean(p) })
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// installDir returns the value of --install in an otelwait argv.
func installDir(argv []string) (string, bool) {
	for i, a := range argv[1:] {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--install="); ok {
			return v, true
		}
		if a == "--install" && i+2 < len(argv) {
			return argv[i+2], true
		}
	}
	return "", false
}

// collectorPort is a port a Collector listens on, as its configuration has it.
type collectorPort struct {
	scheme string // http or grpc
	host   string // as configured: localhost, 0.0.0.0, …
	port   string
}

// collectorListeners returns the ports of a Collector configuration's OTLP receivers and
// health_check extension, with the Collector's defaults (localhost since v0.104).
func collectorListeners(cfg []byte) ([]collectorPort, error) {
	var c struct {
		Receivers  map[string]map[string]any `json:"receivers"`
		Extensions map[string]map[string]any `json:"extensions"`
	}
	if err := yaml.Unmarshal(cfg, &c); err != nil {
		return nil, err
	}
	var out []collectorPort
	add := func(scheme string, settings map[string]any, def string) error {
		ep := def
		if v, ok := settings["endpoint"].(string); ok && v != "" {
			ep = v
		}
		host, port, err := net.SplitHostPort(ep)
		if err != nil {
			return fmt.Errorf("endpoint %q: %w", ep, err)
		}
		out = append(out, collectorPort{scheme: scheme, host: host, port: port})
		return nil
	}
	for id, r := range c.Receivers {
		if typ, _, _ := strings.Cut(id, "/"); typ != "otlp" {
			continue
		}
		protocols, _ := r["protocols"].(map[string]any)
		for proto, def := range map[string]string{"grpc": "localhost:4317", "http": "localhost:4318"} {
			if s, ok := protocols[proto]; ok {
				settings, _ := s.(map[string]any)
				if err := add(proto, settings, def); err != nil {
					return out, fmt.Errorf("receivers::%s::protocols::%s: %w", id, proto, err)
				}
			}
		}
	}
	for id, e := range c.Extensions {
		if typ, _, _ := strings.Cut(id, "/"); typ == "health_check" {
			if err := add("http", e, "localhost:13133"); err != nil {
				return out, fmt.Errorf("extensions::%s: %w", id, err)
			}
		}
	}
	slices.SortFunc(out, func(a, b collectorPort) int {
		return strings.Compare(a.scheme+a.host+a.port, b.scheme+b.host+b.port)
	})
	return out, nil
}

// reachable returns the "scheme://host:port" a client reaches the listeners at: in the
// same network namespace (a pod, a container) by localhost, whatever the bind address;
// from elsewhere by name, only when the port is bound on every address.
func reachable(ls []collectorPort, sameNetns bool, name string) []string {
	var out []string
	for _, l := range ls {
		switch {
		case sameNetns:
			for _, h := range []string{"localhost", "127.0.0.1"} {
				out = append(out, l.scheme+"://"+net.JoinHostPort(h, l.port))
			}
		case l.host == "" || l.host == "0.0.0.0" || l.host == "::":
			out = append(out, l.scheme+"://"+net.JoinHostPort(name, l.port))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
