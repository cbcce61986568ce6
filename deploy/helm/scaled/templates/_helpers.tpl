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
