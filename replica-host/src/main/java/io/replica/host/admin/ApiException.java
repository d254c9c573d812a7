package io.replica.host.admin;

/** A request the API refuses, with the HTTP status and error kind to answer. */
final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  final int status;
  final String kind;

  ApiException(int status, String kind, String message) {
    super(message);
    this.status = status;
    this.kind = kind;
  }

  static ApiException badRequest(String message) {
    return new ApiException(400, "bad-request", message);
  }

  static ApiException notFound(String message) {
    return new ApiException(404, "not-found", message);
  }

  ApiResponse response() {
    return ApiResponse.error(status, kind, getMessage());
  }
}
