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
{{- if .Values.notifications.enabled }}
# The Microsoft Graph notification endpoint (pods that run sync workers serve it).
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: NOTIFICATION_ADDR
  value: {{ printf ":%d" (int .Values.notifications.port) | quote }}
- name: GRAPH_NOTIFICATION_URL
  value: {{ .Values.notifications.graph.url | quote }}
{{- end }}
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
{{- if .Values.notifications.enabled }}
  - name: notify
    containerPort: {{ .Values.notifications.port }}
    protocol: TCP
{{- end }}
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
{{- if and .Values.notifications.enabled .Values.notifications.tls.secretName }}
  - name: notify-tls
    secret:
      secretName: {{ .Values.notifications.tls.secretName }}
{{- end }}
{{- end }}

{{/* Arguments and mounts of the notification endpoint's own HTTPS (notifications.tls.secretName). */}}
{{- define "mailsync-operator.notificationTlsArgs" -}}
{{- if and .Values.notifications.enabled .Values.notifications.tls.secretName -}}
- --notification-tls-cert=/etc/mailsync/notify-tls/tls.crt
- --notification-tls-key=/etc/mailsync/notify-tls/tls.key
{{- end }}
{{- end }}

{{- define "mailsync-operator.notificationTlsMount" -}}
{{- if and .Values.notifications.enabled .Values.notifications.tls.secretName -}}
- name: notify-tls
  mountPath: /etc/mailsync/notify-tls
  readOnly: true
{{- end }}
{{- end }}
