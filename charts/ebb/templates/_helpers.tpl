{{/*
Chart name, truncated to 63 characters (a DNS label).
*/}}
{{- define "ebb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the objects: the release name if it already contains the chart name, else RELEASE-ebb.
Truncated to 63 characters; suffixed names (-xds, -envoy, ...) stay within a DNS label because
Services, ConfigMaps and RBAC objects allow up to 63 (Services) or 253 characters.
*/}}
{{- define "ebb.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
chart label value: name-version.
*/}}
{{- define "ebb.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels every object carries.
*/}}
{{- define "ebb.labels" -}}
helm.sh/chart: {{ include "ebb.chart" . }}
app.kubernetes.io/name: {{ include "ebb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | toString | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ebb
{{- end }}

{{/*
Selector labels of Ebb's pods. The component label keeps them apart from the Envoy fleet's pods, so the
Ebb Services, PDB and NetworkPolicy never select an Envoy.
*/}}
{{- define "ebb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ebb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end }}

{{/*
Selector labels of the Envoy fleet's pods (distinct from Ebb's by component).
*/}}
{{- define "ebb.envoy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ebb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: envoy
{{- end }}

{{/*
ServiceAccount Ebb runs as.
*/}}
{{- define "ebb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ebb.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Ebb's image; the Envoy fleet's shutdown-manager sidecar uses it too.
*/}}
{{- define "ebb.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{/*
The RBAC rules of Ebb's Kubernetes source (SPEC 3), in ONE place: the ClusterRole (all namespaces) and the
per-namespace Roles (watchNamespaces) both include this, so they cannot drift apart. Exactly the calls Ebb
makes, no wildcard:
- services: list and watch (informers), get and patch (the ebb.dev/status annotation, leader only);
- endpointslices: list and watch (informers);
- events: create (WeightApplied, DrainStarted, DrainFinished, InvalidAnnotation, ConfigRejected).
The leader-election Lease is a separate Role in the release namespace (ebb.leaseRules).
*/}}
{{- define "ebb.sourceRules" -}}
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/*
Leader election: the Lease ebb-leader in the release namespace (--lease-namespace). get and update to
hold and renew it, create for the very first replica.
*/}}
{{- define "ebb.leaseRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "patch"]
{{- end }}

{{/*
Seconds in a duration of the form NUMBER followed by s, m or h (what envoy.drainTimeout accepts; the schema
checks the form, this fails clearly too when the schema is bypassed).
*/}}
{{- define "ebb.durationSeconds" -}}
{{- $d := toString . }}
{{- if not (regexMatch "^[0-9]+(s|m|h)$" $d) }}
{{- fail (printf "%q is not a duration of the form 90s, 15m or 2h" $d) }}
{{- end }}
{{- $n := regexFind "^[0-9]+" $d | atoi }}
{{- $unit := regexFind "[smh]$" $d }}
{{- $factor := get (dict "s" 1 "m" 60 "h" 3600) $unit }}
{{- mul $n $factor }}
{{- end }}

{{/*
The Envoy fleet's termination grace period: the drain timeout plus envoy.terminationGraceExtraSeconds, so
the kubelet never kills a pod whose drain is still within its timeout.
*/}}
{{- define "ebb.envoy.terminationGracePeriodSeconds" -}}
{{- add (include "ebb.durationSeconds" .Values.envoy.drainTimeout | atoi) .Values.envoy.terminationGraceExtraSeconds }}
{{- end }}

{{/*
A Kubernetes port name (IANA service name: at most 15 characters, lower case letters, digits and single
hyphens, at least one letter) made from a listener name.
*/}}
{{- define "ebb.portName" -}}
{{- $n := regexReplaceAll "[^a-z0-9-]" (lower (toString .)) "-" }}
{{- regexReplaceAll "-+" $n "-" | trimPrefix "-" | trunc 15 | trimSuffix "-" }}
{{- end }}

{{/*
The listeners the Envoy fleet serves, as a JSON list of {name, portName, port}: those Ebb gives to the
fleet's node.cluster (nodeClusters empty or listing envoy.nodeCluster) and that are not bound to loopback
(a loopback listener is for a sidecar, not for traffic from a Service). Fails on what could not work: a
port below 1024 (Envoy runs without NET_BIND_SERVICE), two listeners whose port names collide, a listener
named like the health port, or no listener at all.
*/}}
{{- define "ebb.envoy.listeners" -}}
{{- $out := list }}
{{- $names := dict "health" "the health listener (8002)" "shutdown" "the shutdown manager (8090)" }}
{{- range .Values.listeners }}
{{- $address := .address | default "0.0.0.0" | toString }}
{{- $clusters := .nodeClusters | default list }}
{{- $loopback := or (hasPrefix "127." $address) (eq $address "::1") (eq $address "localhost") }}
{{- if and (not $loopback) (or (empty $clusters) (has $.Values.envoy.nodeCluster $clusters)) }}
{{- $portName := include "ebb.portName" .name }}
{{- if not (regexMatch "[a-z]" $portName) }}
{{- fail (printf "listener %s: its port name %q needs a letter" .name $portName) }}
{{- end }}
{{- if hasKey $names $portName }}
{{- fail (printf "listener %s: its port name %q (first 15 characters of the name) is already used by %s; rename one" .name $portName (get $names $portName)) }}
{{- end }}
{{- $_ := set $names $portName (printf "listener %s" .name) }}
{{- if lt (int .port) 1024 }}
{{- fail (printf "listener %s: port %d is below 1024, which the Envoy container cannot bind (it runs as uid 101 with every capability dropped); use a port >= 1024 and map the public port with envoy.service.ports (e.g. {%s: %d})" .name (int .port) .name (int .port)) }}
{{- end }}
{{- if or (eq (int .port) 8002) (eq (int .port) 8090) (eq (int .port) 9901) }}
{{- fail (printf "listener %s: port %d is taken in the Envoy pod (8002 health, 8090 shutdown manager, 9901 admin)" .name (int .port)) }}
{{- end }}
{{- $out = append $out (dict "name" .name "portName" $portName "port" (int .port)) }}
{{- end }}
{{- end }}
{{- if empty $out }}
{{- fail (printf "envoy.enabled: no listener is served to node cluster %q on a non-loopback address, so the Envoy fleet would have nothing to expose; check listeners and envoy.nodeCluster" .Values.envoy.nodeCluster) }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
The DNS name Envoys dial for xDS (the -xds Service): the name Ebb's server certificate must carry.
*/}}
{{- define "ebb.xdsHost" -}}
{{- printf "%s-xds.%s.svc.%s" (include "ebb.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/*
Whether the chart creates cert-manager Certificates (xds.tls.certManager.issuerRef.name is set).
*/}}
{{- define "ebb.certManager" -}}
{{- if .Values.xds.tls.certManager.issuerRef.name }}true{{ end }}
{{- end }}

{{/*
The Secret with the Envoy fleet's xDS client certificate and CA: envoy.xdsTls.secretName, or the one the
chart's cert-manager Certificate writes.
*/}}
{{- define "ebb.envoy.xdsTlsSecretName" -}}
{{- if .Values.envoy.xdsTls.secretName }}
{{- .Values.envoy.xdsTls.secretName }}
{{- else if include "ebb.certManager" . }}
{{- printf "%s-envoy-xds-tls" (include "ebb.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The identity (URI SAN) of the Envoy fleet's client certificate when the chart has cert-manager issue it; name
it in xds.nodeAuthz.
*/}}
{{- define "ebb.envoy.xdsIdentity" -}}
{{- printf "spiffe://%s/ns/%s/envoy/%s-envoy" .Values.clusterDomain .Release.Namespace (include "ebb.fullname" .) }}
{{- end }}

{{/*
xDS TLS values that cannot work together fail the install with a message that says what to set (SPEC 11).
*/}}
{{- define "ebb.xdsTls.check" -}}
{{- $tls := .Values.xds.tls }}
{{- if and (include "ebb.certManager" .) (not $tls.secretName) }}
{{- fail "xds.tls.certManager.issuerRef.name is set but xds.tls.secretName is empty: name the Secret the Certificate should write" }}
{{- end }}
{{- if and .Values.xds.nodeAuthz (not (and $tls.secretName $tls.mutual)) }}
{{- fail "xds.nodeAuthz needs mutual TLS (there is no client identity without it): set xds.tls.secretName and keep xds.tls.mutual true" }}
{{- end }}
{{- if and .Values.envoy.enabled $tls.secretName (not (include "ebb.envoy.xdsTlsSecretName" .)) }}
{{- fail "envoy.enabled with xds.tls.secretName: the Envoy fleet needs envoy.xdsTls.secretName, a Secret with its client certificate (tls.crt, tls.key) and the CA of Ebb's certificate (ca.crt), or xds.tls.certManager.issuerRef to have cert-manager issue it" }}
{{- end }}
{{- end }}
