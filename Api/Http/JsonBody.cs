using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Api.Http;

/// <summary>
/// Reads a request body as JSON by hand instead of through model binding, so every way a body can
/// be wrong (too big, not JSON, not UTF-8, too deep) becomes a ProblemDetails naming the body,
/// and nothing is parsed past the size limit.
/// </summary>
public sealed class JsonBody(IOptions<ApiOptions> options)
{
    /// <summary>How deep a body may nest; deeper ones are refused before any of it is used.</summary>
    public const int MaxDepth = 32;

    /// <summary>The parsed body, or the problem that stopped it; the caller disposes the document.</summary>
    public async Task<(JsonDocument? Document, ProblemHttpResult? Problem)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var limit = options.Value.MaxRequestBodyBytes;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, ApiProblem.Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "The body must be sent as application/json.", "Content-Type", "application/json", retryable: false));
        }

        if (request.ContentLength > limit)
        {
            return (null, TooLarge(limit));
        }

        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var read = await request.Body.ReadAsync(buffer.GetMemory(4096), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                return (null, TooLarge(limit));
            }
        }

        // The parser checks UTF-8 only when a string is read, which would be too late for a clear 400.
        if (!Utf8.IsValid(buffer.WrittenSpan))
        {
            return (null, ApiProblem.BadField("body", "JSON text in valid UTF-8", "The body is not valid UTF-8."));
        }

        try
        {
            return (JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = MaxDepth }), null);
        }
        catch (JsonException e)
        {
            return (null, ApiProblem.BadField("body", $"a JSON document in UTF-8, nested at most {MaxDepth} levels", "The body is not valid JSON: " + e.Message));
        }
    }

    private static ProblemHttpResult TooLarge(int limit) =>
        ApiProblem.Create(StatusCodes.Status413PayloadTooLarge, "Request body too large",
            $"The body is larger than {limit} bytes.", "body", $"at most {limit} bytes", retryable: false);
}
