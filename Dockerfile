# syntax=docker/dockerfile:1
# Faultline in a container. The build stage builds the Debian package with CPack (as the README's
# "Install" section does); the final stage installs that package on a slim Debian and runs as an
# unprivileged user. Built in CI only where a Docker engine exists.
#
#   docker build --build-arg FL_GIT_REVISION="$(git rev-parse --short HEAD)" -t faultline .
#   docker run --rm faultline run --client '"$FAULTLINE_CLIENTS"/robust' --filter 'openai-chat-*'
#   docker run --rm -p 8080:8080 faultline serve --host 0.0.0.0 --port 8080 \
#       /usr/share/faultline/scenarios/clean
FROM debian:bookworm-slim AS build
WORKDIR /src
# The build dependencies first, so editing the sources keeps this layer cached.
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh --build
COPY . .
# .dockerignore leaves .git out, so the revision comes in as an argument.
ARG FL_GIT_REVISION=
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DFL_WERROR=ON \
        -DFL_GIT_REVISION="$FL_GIT_REVISION" \
    && cmake --build /build -j"$(nproc)" \
    && cd /build && cpack -G DEB

FROM debian:bookworm-slim
COPY --from=build /build/faultline_*.deb /tmp/
RUN apt-get update \
    && apt-get install -y --no-install-recommends /tmp/faultline_*.deb \
    && rm -rf /var/lib/apt/lists/* /tmp/faultline_*.deb \
    && useradd --create-home --uid 10001 faultline
USER faultline
WORKDIR /home/faultline
ENTRYPOINT ["faultline"]
CMD ["--help"]
