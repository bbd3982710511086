/** An error the admin API and the dashboard answer with; anything else is a 500 InternalError. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
