// Errors in the Bot API's own shape: {"ok":false,"error_code":N,"description":"...","parameters"?}.
// The descriptions below are the strings the real Bot API server (tdlib/telegram-bot-api) sends,
// so a bot that matches on them (grammY's GrammyError.description) behaves the same here.

export interface ResponseParameters {
  retry_after?: number;
  migrate_to_chat_id?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: ResponseParameters,
  ) {
    super(description);
    this.name = "ApiError";
  }

  toJSON(): Record<string, unknown> {
    return {
      ok: false,
      error_code: this.code,
      description: this.description,
      ...(this.parameters ? { parameters: this.parameters } : {}),
    };
  }
}

export const badRequest = (detail: string): ApiError => new ApiError(400, `Bad Request: ${detail}`);
export const forbidden = (detail: string): ApiError => new ApiError(403, `Forbidden: ${detail}`);
export const conflict = (detail: string): ApiError => new ApiError(409, `Conflict: ${detail}`);

export const unauthorized = (): ApiError => new ApiError(401, "Unauthorized");
export const notFound = (): ApiError => new ApiError(404, "Not Found");
export const tooManyRequests = (retryAfter: number): ApiError =>
  new ApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
export const internalServerError = (): ApiError => new ApiError(500, "Internal Server Error");
export const badGateway = (): ApiError => new ApiError(502, "Bad Gateway");
export const entityTooLarge = (): ApiError => new ApiError(413, "Request Entity Too Large");

export const errors = {
  chatNotFound: () => badRequest("chat not found"),
  chatIdEmpty: () => badRequest("chat_id is empty"),
  textEmpty: () => badRequest("message text is empty"),
  textBlank: () => badRequest("message must be non-empty"),
  textTooLong: () => badRequest("message is too long"),
  captionTooLong: () => badRequest("message caption is too long"),
  cantParseEntities: (detail: string) => badRequest(`can't parse entities: ${detail}`),
  unsupportedParseMode: () => badRequest("unsupported parse_mode"),
  buttonDataInvalid: () => badRequest("BUTTON_DATA_INVALID"),
  messageNotModified: () =>
    badRequest(
      "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    ),
  messageToEditNotFound: () => badRequest("message to edit not found"),
  messageToDeleteNotFound: () => badRequest("message to delete not found"),
  messageCantBeEdited: () => badRequest("message can't be edited"),
  noTextToEdit: () => badRequest("there is no text in the message to edit"),
  noCaptionToEdit: () => badRequest("there is no caption in the message to edit"),
  replyNotFound: () => badRequest("message to be replied not found"),
  queryTooOld: () =>
    badRequest("query is too old and response timeout expired or query ID is invalid"),
  answerTooLong: () => badRequest("MESSAGE_TOO_LONG"),
  botBlocked: () => forbidden("bot was blocked by the user"),
  cantInitiate: () => forbidden("bot can't initiate conversation with a user"),
  otherGetUpdates: () =>
    conflict(
      "terminated by other getUpdates request; make sure that only one bot instance is running",
    ),
  terminatedBySetWebhook: () => conflict("terminated by setWebhook request"),
  webhookActive: () =>
    conflict(
      "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    ),
  invalidWebhookUrl: () => badRequest("invalid webhook URL specified"),
  wrongFileId: () => badRequest("wrong file identifier/HTTP URL specified"),
  invalidFileId: () => badRequest("invalid file_id"),
  fileEmpty: () => badRequest("file must be non-empty"),
  imageProcessFailed: () => badRequest("IMAGE_PROCESS_FAILED"),
  photoInvalidDimensions: () => badRequest("PHOTO_INVALID_DIMENSIONS"),
  noFileInRequest: (kind: string) => badRequest(`there is no ${kind} in the request`),
  wrongChatAction: () => badRequest("wrong parameter action in request"),
  botCommandInvalid: () => badRequest("BOT_COMMAND_INVALID"),
  botCommandDescriptionInvalid: () => badRequest("BOT_COMMAND_DESCRIPTION_INVALID"),
  langCodeInvalid: () => badRequest("LANG_CODE_INVALID"),
};
