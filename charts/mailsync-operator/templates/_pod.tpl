{{/*
Parts shared by the controller Deployment and the workers StatefulSet.
*/}}

{{/* Environment of the operator containers. */}}
{{- define "mailsync-operator.env" -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: WATCH_NAMESPACE
  value: {{ .Values.watchNamespace | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- if and .Values.autoApproval.enabled .Values.autoApproval.domains }}
- name: AUTO_APPROVE_DOMAINS
  value: {{ join "," .Values.autoApproval.domains | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Ports and probes: /metrics, /healthz and /readyz are served on the `http` port. */}}
{{- define "mailsync-operator.portsAndProbes" -}}
ports:
  - name: http
    containerPort: {{ .Values.httpPort }}
    protocol: TCP
{{- with .Values.livenessProbe }}
{{- if .enabled }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  initialDelaySeconds: {{ .initialDelaySeconds }}
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- with .Values.readinessProbe }}
{{- if .enabled }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  initialDelaySeconds: {{ .initialDelaySeconds }}
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod-level settings common to controller and workers. */}}
{{- define "mailsync-operator.podCommon" -}}
serviceAccountName: {{ include "mailsync-operator.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
enableServiceLinks: false
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  # The root filesystem is read-only; Node and libraries may still want a scratch /tmp.
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- end }}
