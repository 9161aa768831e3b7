# syntax=docker/dockerfile:1
# ServingGateway images (docs/OPERATIONS.md).
#   docker build -t servinggateway .                       target cpu (the default): ASP.NET runtime image, CPU
#   docker build --target gpu -t servinggateway:gpu .      CUDA 13 + cuDNN 9 runtime, ONNX Runtime with CUDA
# Both run as a non-root user, serve the model repository mounted at /models (read-only is fine; the audit log
# and the deployments state file go to /data), listen on port 8000 (REST) and 8001 (gRPC) and check
# themselves on /v2/health/ready. The role and every switch come from the command line (arguments after the
# image name replace CMD) or the environment (Section__Key, e.g. Inference__MaxResidentModels=4).
# Beyond loopback the server refuses to start without API keys (Auth:Keys) or Auth__AllowAnonymous=true, and a
# node without Node:Keys or Node__AllowUnauthenticated=true: see docs/SECURITY.md.

ARG DOTNET_VERSION=10.0
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /src
# Restore first, from the project files alone, so a change to the sources reuses the restored layer.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Batching/Batching.csproj src/Batching/
COPY src/Inference/Inference.csproj src/Inference/
COPY src/Gateway/Gateway.csproj src/Gateway/
RUN dotnet restore src/Gateway/Gateway.csproj -r linux-x64
COPY src/ src/
COPY deploy/publish.sh deploy/
RUN ./deploy/publish.sh cpu /out

FROM build AS build-gpu
RUN dotnet restore src/Gateway/Gateway.csproj -r linux-x64 -p:OrtGpu=true \
 && ./deploy/publish.sh gpu /out-gpu

# The GPU image: CUDA and cuDNN from NVIDIA's runtime image, .NET carried by the self-contained publish.
FROM ${CUDA_IMAGE} AS gpu
RUN apt-get update \
 && apt-get install -y --no-install-recommends libicu74 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1654 --create-home --shell /usr/sbin/nologin app \
 && mkdir /models /data && chown app /models /data
COPY --from=build-gpu /out-gpu /app
COPY deploy/healthcheck.sh /app/deploy/
WORKDIR /app
ENV Urls=http://0.0.0.0:8000 \
    GrpcUrls=http://0.0.0.0:8001 \
    Inference__ModelRepository=/models \
    Inference__DefaultExecutionProvider=cuda \
    Audit__Path=/data/audit.log \
    Deployments__StateFile=/data/deployments.json
# The runtime's settings (deploy/runtime.env: Dynamic PGO, call counting from the first call).
ENV DOTNET_TieredPGO=1 \
    DOTNET_TC_CallCountingDelayMs=0
EXPOSE 8000 8001
USER 1654
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["/app/deploy/healthcheck.sh"]
ENTRYPOINT ["/app/ServingGateway"]
CMD ["--role", "standalone"]

# The CPU image (the default target: last in the file).
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS cpu
COPY --from=build /out /app
COPY deploy/healthcheck.sh /app/deploy/
WORKDIR /app
USER root
RUN mkdir /models /data && chown "$APP_UID" /models /data
# ASPNETCORE_HTTP_PORTS (8080 in the ASP.NET images) is emptied: Urls decides where the server listens.
ENV ASPNETCORE_HTTP_PORTS= \
    Urls=http://0.0.0.0:8000 \
    GrpcUrls=http://0.0.0.0:8001 \
    Inference__ModelRepository=/models \
    Audit__Path=/data/audit.log \
    Deployments__StateFile=/data/deployments.json
# The runtime's settings (deploy/runtime.env: Dynamic PGO, call counting from the first call).
ENV DOTNET_TieredPGO=1 \
    DOTNET_TC_CallCountingDelayMs=0
EXPOSE 8000 8001
# APP_UID: the non-root user the ASP.NET images define.
USER $APP_UID
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["/app/deploy/healthcheck.sh"]
ENTRYPOINT ["dotnet", "/app/ServingGateway.dll"]
CMD ["--role", "standalone"]
