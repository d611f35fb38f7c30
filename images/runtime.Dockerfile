# syntax=docker/dockerfile:1
# The runtime images (sandpod.local/runtime-<language>, LANGUAGE = a name in runtimes/catalog.yaml)
# with exactly the files the dev cluster's images hold: the build stage runs the same
# dev-cluster/images/build-images.sh, which lists each image's files from the catalog (its Debian
# packages and paths, every library ldd names, dash as /bin/sh, coreutils, the launcher
# sandpod-launch, root and sandbox in /etc/passwd, /sandpod/{src,input,build}, nothing writable by
# others, nothing setuid) and writes them as reproducible layers (the shared base, then the
# language's); the final image is their files alone. Build from the repository root:
#   make images   (or: docker build -f images/runtime.Dockerfile --build-arg NODE_BASE=... --build-arg LANGUAGE=python .)
ARG NODE_BASE

# What the catalog says of the images, printed by runtimes/print.ts: the package list the build
# stage installs and the spec build-images.sh reads.
FROM ${NODE_BASE} AS catalog
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY contract contract
COPY runtimes runtimes
ARG LANGUAGE
RUN mkdir /catalog \
  && node --import=tsx runtimes/print.ts image-needs >/catalog/image-needs \
  && node --import=tsx runtimes/print.ts image-spec >/catalog/image-spec \
  && SANDPOD_LANGUAGES="$LANGUAGE" node --import=tsx runtimes/print.ts host-installs >/catalog/installs

FROM ${NODE_BASE} AS build
ARG LANGUAGE
# The toolchains of every language (the image takes only its own), gcc for the script's pause
# image, and Node 20 where the catalog names it (/usr/bin/node, as Debian's nodejs puts it).
COPY --from=catalog /catalog/ /catalog/
RUN apt-get update \
  && xargs -a /catalog/image-needs apt-get install -y --no-install-recommends gcc curl unzip ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && ln -sf /usr/local/bin/node /usr/bin/node
# Toolchains from elsewhere (Go from the Go module proxy, TypeScript from npm) by the catalog's
# install scripts, at the paths the image then copies.
COPY scripts/toolchains/ /src/scripts/toolchains/
RUN while read -r script args; do [ -z "$script" ] || "/src/$script" $args; done </catalog/installs
# The repository's layout is kept: the script compiles the launcher from sandbox/launcher/.
COPY dev-cluster/images/build-images.sh dev-cluster/images/pause.c /src/dev-cluster/images/
COPY sandbox/launcher/sandpod-launch.c /src/sandbox/launcher/
RUN test -n "$LANGUAGE" \
  && SANDPOD_DEV_IMAGES="$LANGUAGE" SANDPOD_RUNTIME_IMAGE_SPEC=/catalog/image-spec \
       /src/dev-cluster/images/build-images.sh /out "" --no-import \
  && tarball="$(ls /out/runtime-"$LANGUAGE"-*.tar)" \
  && mkdir /oci /rootfs && tar -C /oci -xf "$tarball" \
  && manifest="$(sed -n 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/p' /oci/index.json)" \
  && for layer in $(sed -n 's/.*"layers":\[\(.*\)\].*/\1/p' "/oci/blobs/sha256/$manifest" \
       | grep -o '"digest":"sha256:[0-9a-f]*"' | cut -d: -f3 | tr -d '"'); do \
       tar -C /rootfs --numeric-owner -xpf "/oci/blobs/sha256/$layer"; done

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8
WORKDIR /
USER 65534:65534
