using System.Text.RegularExpressions;
using Fluid.Ast;
using Fluid.Parser;

namespace DigitalPost.Domain.Letters;

/// <summary>What per-row validation needs from a parsed template, read from Fluid's statements in document order:
/// the merge fields it reads, those it prints unconditionally, and the first filter Fluid does not have.</summary>
internal sealed class TemplateFields : AstVisitor
{
    // Liquid sets these inside a loop's body; reading them there reads no merge field.
    private static readonly string[] ForLoopNames = ["forloop", "parentloop"];
    private static readonly string[] TableRowNames = ["tablerowloop"];

    private readonly string _source;
    private readonly Func<string, bool> _filterExists;
    private readonly HashSet<string> _read = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _printed = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _assigned = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _loopLocals = [];
    private readonly List<(int Start, int End)> _text = [];
    private string? _unknownFilter;
    private int _conditional;

    private TemplateFields(string source, Func<string, bool> filterExists) => (_source, _filterExists) = (source, filterExists);

    public IReadOnlySet<string> Read => _read;

    /// <summary>Names printed outside any condition or loop and not given a <c>default</c>; assigned names among them too,
    /// which the caller filters out by <see cref="Read"/>.</summary>
    public IReadOnlySet<string> Printed => _printed;

    public (string Name, int Position)? UnknownFilter { get; private set; }

    public static TemplateFields Of(FluidTemplate template, string source, Func<string, bool> filterExists)
    {
        var fields = new TemplateFields(source, filterExists);
        fields.VisitTemplate(template);
        if (fields._unknownFilter is { } name) fields.UnknownFilter = (name, fields.FilterPosition(name));
        return fields;
    }

    /// <summary>Fluid's statements carry no position for a filter, only for the text between tags; the filter is the first
    /// <c>| name</c> outside that text. A quoted <c>'| name'</c> in an earlier tag would be taken for it: the message
    /// would point a little early, at the same name.</summary>
    private int FilterPosition(string name)
    {
        var pattern = new Regex(@"\|\s*(" + Regex.Escape(name) + @")(?![A-Za-z0-9_-])");
        for (var match = pattern.Match(_source); match.Success; match = match.NextMatch())
            if (!_text.Any(t => match.Index >= t.Start && match.Index < t.End)) return match.Groups[1].Index;
        return 0;
    }

    protected override Expression VisitMemberExpression(MemberExpression memberExpression)
    {
        if (memberExpression.Segments[0] is IdentifierSegment variable
            && !_assigned.Contains(variable.Identifier)
            && !_loopLocals.Contains(variable.Identifier, StringComparer.OrdinalIgnoreCase))
            _read.Add(variable.Identifier);

        foreach (var segment in memberExpression.Segments)
        {
            switch (segment)
            {
                case IndexerSegment indexer:
                    Visit(indexer.Expression);
                    break;
                case FunctionCallSegment call:
                    foreach (var argument in call.Arguments) Visit(argument.Expression);
                    break;
            }
        }
        return memberExpression;
    }

    protected override Expression VisitFilterExpression(FilterExpression filterExpression)
    {
        if (_unknownFilter is null && !_filterExists(filterExpression.Name)) _unknownFilter = filterExpression.Name;
        return base.VisitFilterExpression(filterExpression);
    }

    protected override Statement VisitOutputStatement(OutputStatement outputStatement)
    {
        if (_conditional == 0 && PrintedVariable(outputStatement.Expression) is { } name) _printed.Add(name);
        return base.VisitOutputStatement(outputStatement);
    }

    private static string? PrintedVariable(Expression expression) => expression switch
    {
        MemberExpression { Segments: [IdentifierSegment variable, ..] } => variable.Identifier,
        FilterExpression filter when filter.Name != "default" => PrintedVariable(filter.Input),
        _ => null,
    };

    // The value is read before the name is set: {% assign navn = navn | upcase %} reads the merge field navn.
    protected override Statement VisitAssignStatement(AssignStatement assignStatement)
    {
        base.VisitAssignStatement(assignStatement);
        _assigned.Add(assignStatement.Identifier);
        return assignStatement;
    }

    // Not conditional: a capture at the top renders its body into every letter, whether or not the letter prints it.
    protected override Statement VisitCaptureStatement(CaptureStatement captureStatement)
    {
        base.VisitCaptureStatement(captureStatement);
        _assigned.Add(captureStatement.Identifier);
        return captureStatement;
    }

    // Fluid's own visitor reads an if's else before its body; document order decides whether a name is assigned before it is read.
    protected override Statement VisitIfStatement(IfStatement ifStatement)
    {
        VisitBranches(ifStatement.Condition, [.. ifStatement.Statements, .. ifStatement.ElseIfs, ifStatement.Else]);
        return ifStatement;
    }

    protected override Statement VisitUnlessStatement(UnlessStatement unlessStatement)
    {
        VisitBranches(unlessStatement.Condition, [.. unlessStatement.Statements, unlessStatement.Else]);
        return unlessStatement;
    }

    protected override Statement VisitCaseStatement(CaseStatement caseStatement)
    {
        VisitBranches(caseStatement.Expression, [.. caseStatement.Whens, caseStatement.Else]);
        return caseStatement;
    }

    protected override Statement VisitIfChangedStatement(IfChangedStatement ifChangedStatement)
    {
        VisitBranches(condition: null, ifChangedStatement.Statements);
        return ifChangedStatement;
    }

    protected override Statement VisitForStatement(ForStatement forStatement)
    {
        VisitLoop([forStatement.Source, forStatement.Limit, forStatement.Offset], [forStatement.Identifier, .. ForLoopNames],
            forStatement.Statements, forStatement.Else);
        return forStatement;
    }

    protected override Statement VisitTableRowStatement(TableRowStatement tableRowStatement)
    {
        VisitLoop([tableRowStatement.Source, tableRowStatement.Limit, tableRowStatement.Offset, tableRowStatement.Cols],
            [tableRowStatement.Identifier, .. TableRowNames], tableRowStatement.Statements, otherwise: null);
        return tableRowStatement;
    }

    protected override Statement VisitTextSpanStatement(TextSpanStatement textSpanStatement)
    {
        NoteText(textSpanStatement.Text.Buffer, textSpanStatement.Text.Offset, textSpanStatement.Text.Length);
        return textSpanStatement;
    }

    protected override Statement VisitRawStatement(RawStatement rawStatement)
    {
        NoteText(rawStatement.Text.Buffer, rawStatement.Text.Offset, rawStatement.Text.Length);
        return rawStatement;
    }

    protected override Statement VisitCommentStatement(CommentStatement commentStatement)
    {
        NoteText(commentStatement.Text.Buffer, commentStatement.Text.Offset, commentStatement.Text.Length);
        return commentStatement;
    }

    private void NoteText(string? buffer, int offset, int length)
    {
        if (ReferenceEquals(buffer, _source)) _text.Add((offset, offset + length));
    }

    private void VisitBranches(Expression? condition, IReadOnlyList<Statement?> branches)
    {
        Visit(condition);
        _conditional++;
        foreach (var branch in branches) Visit(branch);
        _conditional--;
    }

    /// <summary>The bounds are read before the loop; its body, with the loop's own names set, and its else are conditional.</summary>
    private void VisitLoop(Expression?[] bounds, string[] locals, IReadOnlyList<Statement> body, Statement? otherwise)
    {
        foreach (var bound in bounds) Visit(bound);
        _conditional++;
        _loopLocals.AddRange(locals);
        VisitAll(body);
        _loopLocals.RemoveRange(_loopLocals.Count - locals.Length, locals.Length);
        Visit(otherwise);
        _conditional--;
    }

    private void VisitAll(IReadOnlyList<Statement> statements)
    {
        foreach (var statement in statements) Visit(statement);
    }
}
