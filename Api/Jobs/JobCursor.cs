using System.Buffers.Binary;
using System.Buffers.Text;

namespace Api.Jobs;

/// <summary>
/// The opaque cursor of <c>GET /jobs</c>: the last id of a page, versioned and base64url-encoded,
/// so clients treat it as a token and the listing stays a keyset (id &lt; cursor), never an OFFSET.
/// </summary>
public static class JobCursor
{
    private const byte Version = 1;

    /// <summary>The cursor that continues after <paramref name="lastId"/>.</summary>
    public static string Encode(long lastId)
    {
        Span<byte> bytes = stackalloc byte[9];
        bytes[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..], lastId);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>The id a cursor continues after; false for anything this Api did not hand out.</summary>
    public static bool TryDecode(string cursor, out long lastId)
    {
        lastId = 0;
        Span<byte> bytes = stackalloc byte[9];
        if (cursor.Length != 12 || !Base64Url.TryDecodeFromChars(cursor, bytes, out var written) || written != 9 || bytes[0] != Version)
        {
            return false;
        }

        lastId = BinaryPrimitives.ReadInt64BigEndian(bytes[1..]);
        return lastId > 0;
    }
}
