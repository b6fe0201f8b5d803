// Bindings visible to the workers tests: the Worker's own plus the FIXTURES service.
declare namespace Cloudflare {
  interface Exports {
    default: { fetch(request: Request): Promise<Response> };
  }
  interface Env {
    MODELS: R2Bucket;
    DATA: R2Bucket;
    FIXTURES: Fetcher;
    MAX_BODY_BYTES?: string;
    MAX_IMAGE_PIXELS?: string;
  }
}
