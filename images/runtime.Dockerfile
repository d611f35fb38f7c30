# syntax=docker/dockerfile:1
# The runtime images (sandpod.local/runtime-<language>, LANGUAGE = python, javascript, c, cpp or
# bash) with exactly the files the dev cluster's images hold: the build stage runs the same
# dev-cluster/images/build-images.sh, which lists each image's files (Debian packages, the
# interpreter or compiler and every library ldd names, dash as /bin/sh, coreutils, the launcher
# sandpod-launch, root and sandbox in /etc/passwd, /sandpod/{src,input,build}, nothing writable by
# others, nothing setuid) and writes them as one reproducible layer; the final image is that layer
# alone. Build from the repository root:
#   make images   (or: docker build -f images/runtime.Dockerfile --build-arg NODE_BASE=... --build-arg LANGUAGE=python .)
ARG NODE_BASE

FROM ${NODE_BASE} AS build
ARG LANGUAGE
# The toolchains of every language (the image takes only its own), gcc for the script's pause
# image, and Node 20 where the script looks for it (/usr/bin/node, as Debian's nodejs puts it).
RUN apt-get update \
  && apt-get install -y --no-install-recommends dash coreutils bash grep sed python3.11 \
       gcc gcc-12 cpp cpp-12 libgcc-12-dev binutils binutils-common binutils-x86-64-linux-gnu libc6-dev \
       linux-libc-dev libcrypt-dev libnsl-dev rpcsvc-proto g++ g++-12 libstdc++-12-dev \
  && rm -rf /var/lib/apt/lists/* \
  && ln -sf /usr/local/bin/node /usr/bin/node
# The repository's layout is kept: the script compiles the launcher from sandbox/launcher/.
COPY dev-cluster/images/build-images.sh dev-cluster/images/pause.c /src/dev-cluster/images/
COPY sandbox/launcher/sandpod-launch.c /src/sandbox/launcher/
RUN test -n "$LANGUAGE" \
  && SANDPOD_DEV_IMAGES="$LANGUAGE" /src/dev-cluster/images/build-images.sh /out "" --no-import \
  && tarball="$(ls /out/runtime-"$LANGUAGE"-*.tar)" \
  && mkdir /oci /rootfs && tar -C /oci -xf "$tarball" \
  && manifest="$(sed -n 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/p' /oci/index.json)" \
  && layer="$(sed -n 's/.*"layers":\[{[^}]*"digest":"sha256:\([0-9a-f]*\)".*/\1/p' "/oci/blobs/sha256/$manifest")" \
  && tar -C /rootfs --numeric-owner -xpf "/oci/blobs/sha256/$layer"

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8
WORKDIR /
USER 65534:65534
