{{/* Chart name, overridable. */}}
{{- define "mailsync-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of namespaced objects: the release name when it already contains the chart name
(release "mailsync-operator" -> "mailsync-operator"), else "<release>-<chart>".
*/}}
{{- define "mailsync-operator.fullname" -}}
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

{{- define "mailsync-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "mailsync-operator.labels" -}}
helm.sh/chart: {{ include "mailsync-operator.chart" . }}
{{ include "mailsync-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mailsync-operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the operator's pods (controller and workers). */}}
{{- define "mailsync-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mailsync-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mailsync-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mailsync-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name an existing ServiceAccount" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator image: repository@digest, or repository:tag (tag defaults to appVersion). */}}
{{- define "mailsync-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Namespace of the leader-election Lease. */}}
{{- define "mailsync-operator.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{/* Name of a user-facing ClusterRole: <namePrefix>-<role>. */}}
{{- define "mailsync-operator.userRole" -}}
{{- printf "%s-%s" (default "mailsync" .root.Values.rbac.userRoles.namePrefix) .role }}
{{- end }}

{{/*
Cross-field checks the schema cannot express clearly. Each message names the value, what is
wrong and the fix.
*/}}
{{- define "mailsync-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount: %d needs leaderElection.enabled=true: without leader election every replica would reconcile and write status at once. Set leaderElection.enabled=true or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- if and .Values.notifications.enabled (not (hasPrefix "https://" .Values.notifications.graph.url)) }}
{{- fail (printf "notifications.graph.url: %q must be the public https:// URL at which Microsoft Graph reaches the endpoint through your Ingress or Gateway, e.g. https://mailsync.contoso.example/graph/notifications (Graph posts only over HTTPS)" .Values.notifications.graph.url) }}
{{- end }}
{{- end }}
