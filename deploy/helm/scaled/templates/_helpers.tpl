{{- define "scaled.labels" -}}
app.kubernetes.io/name: scaled
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: scaled
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "scaled.selector" -}}
app.kubernetes.io/name: scaled
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- /*
scaled.config is the scaled config the ConfigMap ships, as YAML: config from
values (a map, or a file's text from --set-file config=FILE) with
leader_election and scaler_objects filled in from the chart's values.
*/}}
{{- define "scaled.config" -}}
{{- $cfg := dict }}
{{- if kindIs "string" .Values.config }}
{{- $cfg = fromYaml .Values.config }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "config: the file given to --set-file config=... is not a YAML map: %s" (get $cfg "Error")) }}
{{- end }}
{{- else }}
{{- $cfg = deepCopy .Values.config }}
{{- end }}
{{- $_ := set $cfg "leader_election" (dict "enabled" true "lease_name" .Values.leaseName "shards" (int .Values.shards)) }}
{{- /* Confined by rbac.namespaces, scaled can watch Scalers only there. */}}
{{- $objects := merge (dict "enabled" .Values.scalerObjects.enabled) (.Values.scalerObjects.config | default dict) }}
{{- if and .Values.rbac.namespaces (not (hasKey $objects "namespaces")) }}
{{- $_ := set $objects "namespaces" .Values.rbac.namespaces }}
{{- end }}
{{- $_ := set $objects "enabled" .Values.scalerObjects.enabled }}
{{- $_ := set $cfg "scaler_objects" $objects }}
{{- toYaml $cfg }}
{{- end -}}

{{- /*
scaled.listenPort is the port of the config's listen (scaled's default
:9464 when it has none): the metrics port of the container, the Service and
the NetworkPolicy. A listen that a Service or the kubelet cannot reach fails
the render, naming the value.
*/}}
{{- define "scaled.listenPort" -}}
{{- $cfg := fromYaml (include "scaled.config" .) }}
{{- $listen := toString (get $cfg "listen" | default ":9464") }}
{{- if not (regexMatch "^(\\[[0-9a-fA-F:.]*\\]|[^:\\[\\]]*):[0-9]{1,5}$" $listen) }}
{{- fail (printf "config.listen: %q: must be host:port (host may be empty), as scaled reads it" $listen) }}
{{- end }}
{{- $host := regexReplaceAll ":[0-9]+$" $listen "" }}
{{- $port := int (regexFind "[0-9]+$" $listen) }}
{{- if or (lt $port 1) (gt $port 65535) }}
{{- fail (printf "config.listen: %q: the chart needs a fixed port in 1..65535 for the Service, the NetworkPolicy and the probes" $listen) }}
{{- end }}
{{- if or (eq $host "localhost" "[::1]") (hasPrefix "127." $host) }}
{{- fail (printf "config.listen: %q: a loopback address is out of reach of the Service and of Prometheus; use :%d" $listen $port) }}
{{- end }}
{{- $port }}
{{- end -}}

{{- /* scaled.probe renders one kubelet probe: path, then the timing values. */}}
{{- define "scaled.probe" -}}
{{- $ := index . 0 }}
{{- $path := index . 1 }}
{{- $timing := index . 2 }}
{{- $probePort := int $.Values.probes.port -}}
httpGet:
  path: {{ $path }}
  {{- if gt $probePort 0 }}
  port: probes
  scheme: HTTP
  {{- else }}
  port: metrics
  scheme: {{ ternary "HTTPS" "HTTP" $.Values.web.tls }}
  {{- end }}
{{ toYaml $timing }}
{{- end -}}

{{- /* scaled.checkProbes fails a render whose probes could never succeed. */}}
{{- define "scaled.checkProbes" -}}
{{- $listenPort := int (include "scaled.listenPort" .) }}
{{- $probePort := int .Values.probes.port }}
{{- if eq $probePort $listenPort }}
{{- fail (printf "probes.port: %d: is the config's listen port too; the probe listener needs a port of its own (or 0: probe on the metrics port)" $probePort) }}
{{- end }}
{{- if and (eq $probePort 0) .Values.web.configSecret (not .Values.web.tls) }}
{{- fail (printf "probes.port: 0 puts the kubelet's probes behind web.configSecret %q, whose basic auth the kubelet cannot send (every probe 401): keep probes.port (9465), or set web.tls=true if that web config has TLS and no auth" .Values.web.configSecret) }}
{{- end }}
{{- end -}}
