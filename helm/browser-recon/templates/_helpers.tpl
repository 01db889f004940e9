{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "browser-recon.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; resource names append "-<target>". */}}
{{- define "browser-recon.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "browser-recon.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "browser-recon.labels" -}}
helm.sh/chart: {{ include "browser-recon.chart" . }}
{{ include "browser-recon.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "browser-recon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "browser-recon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* A target's name as Kubernetes allows it: intent_filter -> intent-filter. */}}
{{- define "browser-recon.targetSlug" -}}
{{- . | replace "_" "-" }}
{{- end }}

{{- define "browser-recon.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "browser-recon.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "browser-recon.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "browser-recon.secretName" -}}
{{- default (printf "%s-env" (include "browser-recon.fullname" .)) .Values.secret.existingSecret }}
{{- end }}

{{- define "browser-recon.configMapName" -}}
{{- printf "%s-env" (include "browser-recon.fullname" .) }}
{{- end }}

{{/* The settings of one target: `defaults` overlaid with `targets.<name>`. Call with
     (dict "root" $ "name" $name "overrides" $overrides); returns YAML to fromYaml. */}}
{{- define "browser-recon.targetSettings" -}}
{{- $merged := mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy (default (dict) .overrides)) }}
{{- toYaml $merged }}
{{- end }}

{{/* JetStream stream and durable consumers a target pulls from, as "STREAM/consumer" joined
     by spaces; empty for the api. The events recorder pulls from one consumer per partition
     (RECON_EVENT_PARTITIONS, default 8: services/runtime/src/config.rs). Call with
     (dict "root" $ "name" $name). */}}
{{- define "browser-recon.consumers" -}}
{{- if eq .name "events" }}
{{- $partitions := int (default "8" .root.Values.config.RECON_EVENT_PARTITIONS) }}
{{- range $partition := until $partitions }}SCAN_EVENTS/events-{{ $partitions }}-{{ $partition }} {{ end }}
{{- else if ne .name "api" }}SCANS/{{ .name }}
{{- end }}
{{- end }}

{{/* The environment every pod of the release gets. */}}
{{- define "browser-recon.envFrom" -}}
- configMapRef:
    name: {{ include "browser-recon.configMapName" . }}
- secretRef:
    name: {{ include "browser-recon.secretName" . }}
{{- end }}
