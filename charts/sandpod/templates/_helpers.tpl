{{/* Names, labels and the computed pieces several templates share. */}}

{{- define "sandpod.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-sandpod, or the release name alone when it already says sandpod. */}}
{{- define "sandpod.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "sandpod.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; call with (dict "root" $ "component" "operator"). */}}
{{- define "sandpod.labels" -}}
{{ include "sandpod.selectorLabels" . }}
app.kubernetes.io/part-of: sandpod
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "sandpod.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sandpod.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "sandpod.image" -}}
{{- $image := printf "%s/sandpod" .Values.images.registry -}}
{{- if .Values.images.digest -}}
{{- printf "%s@%s" $image .Values.images.digest -}}
{{- else -}}
{{- printf "%s:%s" $image (default .Chart.AppVersion .Values.images.tag) -}}
{{- end -}}
{{- end -}}

{{- define "sandpod.runtimeImage" -}}
{{- $root := .root -}}
{{- default (printf "%s/runtime-%s:%s" $root.Values.images.registry .runtime.name (default $root.Chart.AppVersion $root.Values.images.tag)) .runtime.image -}}
{{- end -}}

{{/* Namespace of a tenant; call with (dict "root" $ "tenant" $tenant). */}}
{{- define "sandpod.tenantNamespace" -}}
{{- default (printf "%s%s" .root.Values.namespacePrefix .tenant.name) .tenant.namespace -}}
{{- end -}}

{{/*
The plain token of every tenant that gets one from the chart, as YAML (tenant: token). Computed
once per render and kept in .Values, so the Secret and the gateway's hashes agree; a token made at
install is read back from the Secret on upgrade, so clients keep working.
*/}}
{{- define "sandpod.tenantTokens" -}}
{{- if not (hasKey .Values "__tenantTokens") -}}
{{- $tokens := dict -}}
{{- $namespace := .Release.Namespace -}}
{{- if .Values.tenantTokens.existingSecret -}}
{{- $secret := lookup "v1" "Secret" $namespace .Values.tenantTokens.existingSecret -}}
{{- range .Values.tenants -}}
{{- if not .tokenSha256 -}}
{{- if not $secret -}}
{{- fail (printf "tenantTokens.existingSecret: Secret %s/%s was not found; create it before installing (helm template and --dry-run=client cannot read it: give tenants[].tokenSha256 instead)" $namespace $.Values.tenantTokens.existingSecret) -}}
{{- end -}}
{{- $value := get ($secret.data | default dict) .name -}}
{{- if not $value -}}
{{- fail (printf "tenantTokens.existingSecret: Secret %s/%s has no key %q for tenant %q" $namespace $.Values.tenantTokens.existingSecret .name .name) -}}
{{- end -}}
{{- $_ := set $tokens .name (b64dec $value | trim) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $kept := (lookup "v1" "Secret" $namespace (printf "%s-tenant-tokens" (include "sandpod.fullname" .))).data | default dict -}}
{{- range .Values.tenants -}}
{{- if not .tokenSha256 -}}
{{- if not $.Values.tenantTokens.generate -}}
{{- fail (printf "tenants: tenant %q has no token: give tokenSha256, set tenantTokens.existingSecret, or turn tenantTokens.generate on" .name) -}}
{{- end -}}
{{- $_ := set $tokens .name (ternary (b64dec (get $kept .name)) (randAlphaNum 40) (hasKey $kept .name)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set .Values "__tenantTokens" $tokens -}}
{{- end -}}
{{- toYaml (get .Values "__tenantTokens") -}}
{{- end -}}

{{/* Whether the chart makes the tenant-tokens Secret: some tenant has a generated token. */}}
{{- define "sandpod.generatesTokens" -}}
{{- if and (not .Values.tenantTokens.existingSecret) .Values.tenantTokens.generate -}}
{{- range .Values.tenants -}}{{- if not .tokenSha256 -}}yes{{- end -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/* Pod securityContext of the gateway and operator: non-root, RuntimeDefault seccomp. */}}
{{- define "sandpod.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "sandpod.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Spread one component's replicas over nodes and zones; call with (dict "root" $ "component" ... "spread" ...). */}}
{{- define "sandpod.topologySpread" -}}
{{- if .spread.enabled -}}
topologySpreadConstraints:
{{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: {{ $.spread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $.spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "sandpod.selectorLabels" (dict "root" $.root "component" $.component) | nindent 8 }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The tenant namespaces, each once (tenants may share one), as a YAML list of
{name, create}: create is false only when every tenant in it says createNamespace: false.
Without tenants the gateway serves its loopback clients as tenant `default`, whose namespace this
then is.
*/}}
{{- define "sandpod.tenantNamespaces" -}}
{{- $seen := dict -}}
{{- $order := list -}}
{{- range (.Values.tenants | default (list (dict "name" "default"))) -}}
{{- $namespace := include "sandpod.tenantNamespace" (dict "root" $ "tenant" .) -}}
{{- $create := ne (toString .createNamespace) "false" -}}
{{- if hasKey $seen $namespace -}}
{{- $_ := set $seen $namespace (or (get $seen $namespace) $create) -}}
{{- else -}}
{{- $_ := set $seen $namespace $create -}}
{{- $order = append $order $namespace -}}
{{- end -}}
{{- end -}}
{{- $list := list -}}
{{- range $order -}}
{{- $list = append $list (dict "name" . "create" (get $seen .)) -}}
{{- end -}}
{{- toYaml (dict "namespaces" $list) -}}
{{- end -}}

{{/* A list of strings in YAML flow style, ["a", "b"], as the project's formatter writes it. */}}
{{- define "sandpod.flowList" -}}
[{{ range $i, $item := . }}{{ if $i }}, {{ end }}{{ toJson $item }}{{ end }}]
{{- end -}}

{{/*
The gateway's `tenants` (gateway/config.ts) as YAML {tenants: [...]}: names, token sha256 (given,
or of the token the chart made or read), and the optional per-tenant settings.
*/}}
{{- define "sandpod.gatewayTenants" -}}
{{- $tokens := include "sandpod.tenantTokens" . | fromYaml -}}
{{- $tenants := list -}}
{{- range .Values.tenants -}}
{{- $entry := dict "name" .name -}}
{{- if .tokenSha256 -}}
{{- $_ := set $entry "tokenSha256" .tokenSha256 -}}
{{- else -}}
{{- $_ := set $entry "tokenSha256" (list (get $tokens .name | sha256sum)) -}}
{{- end -}}
{{- with .limits }}{{ $_ := set $entry "limits" . }}{{ end -}}
{{- with .maxConcurrent }}{{ $_ := set $entry "maxConcurrent" . }}{{ end -}}
{{- with .ratePerSecond }}{{ $_ := set $entry "ratePerSecond" . }}{{ end -}}
{{- with .burst }}{{ $_ := set $entry "burst" . }}{{ end -}}
{{- $tenants = append $tenants $entry -}}
{{- end -}}
{{- toYaml (dict "tenants" $tenants) -}}
{{- end -}}

{{- define "sandpod.tenantsSecretName" -}}
{{- default (printf "%s-tenants" (include "sandpod.fullname" .)) .Values.gateway.tenantsSecret.existingSecret -}}
{{- end -}}
